"""Database: schema, engines and migrations, and the one module that knows SQL dialects."""
