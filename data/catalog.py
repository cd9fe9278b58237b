"""The simulated shop's reference data (suppliers, products, warehouses, channels, campaigns,
experiments, opening stock) and the hidden traits the simulator derives from it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400
MINUTES_PER_DAY = 1_440
TZ_OFFSET_HOURS = 8  # Asia/Shanghai has no daylight saving time, so a fixed offset is exact
ID_BASE = 1_000_000  # ids are minute_utc * ID_BASE + a counter within that minute

# --- geography ------------------------------------------------------------------------------

REGIONS = ("East", "South", "North", "Central", "Southwest", "Northwest", "Northeast")
REGION_SHARE = np.array([0.30, 0.21, 0.14, 0.12, 0.10, 0.06, 0.07])
# A representative city per region (Shanghai, Guangzhou, Beijing, Wuhan, Chengdu, Lanzhou,
# Shenyang): distances between them drive transit times, transport damage and shipping cost.
REGION_LATLON = np.array(
    [[31.2, 121.5], [23.1, 113.3], [39.9, 116.4], [30.6, 114.3], [30.7, 104.1], [36.1, 103.8], [41.8, 123.4]]
)
# Spread (lognormal sigma) of transit times into each region: remote regions vary more.
REGION_DELAY_SIGMA = np.array([0.15, 0.18, 0.20, 0.20, 0.30, 0.40, 0.30])
LOCAL_DELIVERY_KM = 150.0  # a parcel inside its warehouse's own region still travels

WAREHOUSES = (
    ("WH-EAST", "Kunshan regional DC", "East", "regional"),
    ("WH-SOUTH", "Guangzhou regional DC", "South", "regional"),
    ("WH-NORTH", "Tianjin regional DC", "North", "regional"),
    ("FW-CENTRAL", "Wuhan forward warehouse", "Central", "forward"),
    ("FW-SOUTHWEST", "Chengdu forward warehouse", "Southwest", "forward"),
    ("FW-NORTHEAST", "Shenyang forward warehouse", "Northeast", "forward"),
)
FORWARD_TOP_SKUS = 60  # forward warehouses carry the best sellers and a few more
FORWARD_EXTRA_SKUS = 15

# --- channels and campaigns -----------------------------------------------------------------

CHANNELS = (
    ("paid_search", "Paid search", "paid"),
    ("feed_ads", "Feed ads", "paid"),
    ("short_video_ads", "Short-video ads", "paid"),
    ("live_stream", "Live stream", "content"),
    ("kol_seeding", "KOL seeding", "content"),
    ("social_referral", "Social referral", "social"),
    ("app", "App", "owned"),
    ("mini_program", "Mini program", "owned"),
    ("community", "Community groups", "owned"),
    ("organic", "Organic", "organic"),
)

# Hidden traits of each campaign: cost per click and per thousand impressions at its usual
# pace, the share of its clicks that come from known customers, and how well its clicks
# convert relative to its channel.
CAMPAIGN_SPECS = (
    # id, channel, name, daily_budget, roi_floor, cpc, cpm, returning_share, intent
    ("CMP-PS-BRAND", "paid_search", "Brand keywords", 2500.0, 1.5, 2.6, 60.0, 0.35, 1.5),
    ("CMP-PS-GENERIC", "paid_search", "Generic category keywords", 4500.0, 0.8, 3.9, 45.0, 0.10, 1.0),
    ("CMP-FEED-PROSPECT", "feed_ads", "Feed prospecting", 3500.0, 0.5, 2.2, 18.0, 0.04, 1.0),
    ("CMP-FEED-RETARGET", "feed_ads", "Feed retargeting", 1800.0, 1.2, 2.6, 24.0, 0.45, 1.6),
    ("CMP-SV-BEAUTY", "short_video_ads", "Short-video beauty push", 3000.0, 0.6, 2.3, 16.0, 0.06, 1.0),
    ("CMP-SV-GADGETS", "short_video_ads", "Short-video gadget drops", 3000.0, 0.6, 2.5, 16.0, 0.06, 1.0),
    ("CMP-LIVE-WEEKLY", "live_stream", "Weekly live-stream sessions", 3500.0, 1.0, 3.4, 30.0, 0.25, 1.0),
    ("CMP-KOL-NEWIN", "kol_seeding", "KOL seeding: new arrivals", 2000.0, 0.5, 2.6, 28.0, 0.05, 1.0),
)

# --- products -------------------------------------------------------------------------------

# category: (sku prefix, number of SKUs, median price CNY, price sigma, cost share low/high,
#            demand weight, size_fit return hazard, fragility, mean extra units per line)
CATEGORIES = {
    "apparel": ("APP", 32, 159.0, 0.45, 0.30, 0.45, 1.30, 0.08, 0.3, 0.15),
    "shoes": ("SHO", 14, 299.0, 0.35, 0.35, 0.50, 0.55, 0.09, 0.5, 0.05),
    "beauty": ("BEA", 26, 129.0, 0.55, 0.25, 0.40, 1.20, 0.00, 0.8, 0.30),
    "electronics": ("ELE", 22, 299.0, 0.75, 0.65, 0.80, 0.80, 0.00, 2.0, 0.05),
    "home": ("HOM", 26, 89.0, 0.65, 0.40, 0.55, 1.00, 0.00, 1.6, 0.20),
    "food": ("FOO", 24, 49.0, 0.45, 0.55, 0.70, 1.15, 0.00, 1.2, 0.80),
    "baby": ("BAB", 18, 119.0, 0.55, 0.45, 0.60, 0.80, 0.02, 0.8, 0.40),
    "sports": ("SPO", 16, 199.0, 0.55, 0.40, 0.55, 0.60, 0.03, 0.8, 0.10),
    "pets": ("PET", 12, 79.0, 0.45, 0.45, 0.60, 0.50, 0.00, 0.8, 0.60),
    "books": ("BOO", 10, 45.0, 0.35, 0.50, 0.65, 0.40, 0.00, 0.5, 0.20),
}
CATEGORY_NAMES = tuple(CATEGORIES)
CATEGORY_SIZE_FIT = np.array([spec[7] for spec in CATEGORIES.values()])
CATEGORY_FRAGILITY = np.array([spec[8] for spec in CATEGORIES.values()])
CATEGORY_EXTRA_UNITS = np.array([spec[9] for spec in CATEGORIES.values()])

_ITEMS = {
    "apparel": ("cotton T-shirt", "linen shirt", "down jacket", "slim jeans", "knit cardigan", "silk dress",
                "hoodie", "pleated skirt", "wool coat", "track pants", "polo shirt", "trench coat"),
    "shoes": ("running shoes", "canvas sneakers", "leather loafers", "ankle boots", "slippers", "sandals"),
    "beauty": ("hydrating serum", "sunscreen SPF50", "lip tint", "cleansing oil", "sheet masks", "eye cream",
               "cushion foundation", "toner", "hand cream"),
    "electronics": ("wireless earbuds", "power bank", "smart watch", "phone case", "USB-C charger",
                    "bluetooth speaker", "desk lamp", "mechanical keyboard", "action camera"),
    "home": ("ceramic mug set", "bamboo towels", "storage boxes", "rice cooker", "air purifier filter",
             "bed sheets", "vacuum flask", "kitchen knife", "scented candle"),
    "food": ("green tea", "instant noodles", "mixed nuts", "dried mango", "coffee beans", "sesame paste",
             "spicy hotpot base", "oat milk", "mooncakes"),
    "baby": ("diapers", "baby wipes", "bottle set", "baby lotion", "teething toy", "stroller organiser"),
    "sports": ("yoga mat", "resistance bands", "dumbbell set", "cycling gloves", "badminton racket",
               "running belt"),
    "pets": ("cat litter", "dog chews", "cat food", "pet bed", "grooming brush"),
    "books": ("notebook set", "gel pens", "picture book", "novel", "planner 2027"),
}
_BRANDS = ("Lanmu", "Qingyu", "Haitang", "Moyun", "Beichen", "Xiaozhu", "Yunshan", "Jinhe", "Baixue",
           "Hongye", "Tianlan", "Zhiyou")

SUPPLIERS = (
    ("SUP-HZ-TEX", "Hangzhou Textile Works", 6.0),
    ("SUP-GZ-APP", "Guangzhou Apparel Group", 5.0),
    ("SUP-JJ-SHOE", "Jinjiang Footwear", 8.0),
    ("SUP-SH-COS", "Shanghai Cosmetics", 5.0),
    ("SUP-SZ-ELEC", "Shenzhen Electronics", 7.0),
    ("SUP-NB-HOME", "Ningbo Home Goods", 6.0),
    ("SUP-YW-GEN", "Yiwu General Trading", 9.0),
    ("SUP-FJ-FOOD", "Fujian Foods", 3.0),
    ("SUP-YN-TEA", "Yunnan Tea Estates", 4.0),
    ("SUP-TJ-BABY", "Tianjin Baby Care", 5.0),
    ("SUP-XM-SPORT", "Xiamen Sports", 7.0),
    ("SUP-QD-PET", "Qingdao Pet Supplies", 6.0),
)
_CATEGORY_SUPPLIERS = {
    "apparel": ("SUP-HZ-TEX", "SUP-GZ-APP"), "shoes": ("SUP-JJ-SHOE",), "beauty": ("SUP-SH-COS",),
    "electronics": ("SUP-SZ-ELEC",), "home": ("SUP-NB-HOME", "SUP-YW-GEN"), "food": ("SUP-FJ-FOOD", "SUP-YN-TEA"),
    "baby": ("SUP-TJ-BABY",), "sports": ("SUP-XM-SPORT", "SUP-YW-GEN"), "pets": ("SUP-QD-PET",),
    "books": ("SUP-YW-GEN",),
}
NEW_PRODUCTS_BEFORE = 4  # launched in the 20 days before history starts
NEW_PRODUCTS_DURING = 6  # launched during the first 24 days of history
NOVELTY_DAYS = 10.0  # a new product's extra demand fades with this time constant
# Dead stock: about one SKU in ten went out of fashion. It still sells now and then (about once
# a month) while the warehouses hold what was bought for its old pace, so the slow-mover and
# clearance views have something real to show. Only SKUs outside the best sellers fade.
FADED_SHARE = 0.10
FADED_FACTOR = 0.003
FADED_MAX_U_POP = 0.6

# Planning figures for the opening stock and the purchasing department: units a normal day
# sells, and the days of demand a replenishment order covers.
UNITS_PER_DAY = 1_400.0
COVER_DAYS = {"regional": 21.0, "forward": 10.0}
SAFETY_Z = 1.65

# --- experiments ----------------------------------------------------------------------------

EXPERIMENT_DAYS = 14
EXPERIMENTS = (
    # id, name, description, target_segment, arms, metric, start day after history start
    ("EXP-NEWPROD-INVITE", "New-product trial invitation",
     "Push invitation to try this month's new products, sent to valuable customers.",
     "valuable", "control,invite", "conversion", 7),
    ("EXP-WINBACK-COUPON", "Win-back coupon",
     "A 20 CNY coupon sent to customers who have not bought for a long time.",
     "lapsed", "control,coupon", "revenue_per_user", 18),
)
EXPERIMENT_START_HOUR_LOCAL = 10
WINBACK_COUPON = 20.0
WINBACK_BASKET_MEAN = 200.0
# The true effects the simulator builds in, among the assigned customers the service has not
# lost (SERVICE_TRUE_EFFECTS in data/simulator.py: a lost customer answers no outreach; about
# 1 % of a month's members). Conversion: share of assigned customers with a paid order in [start, end). Revenue per user: paid order amounts in [start, end) per
# assigned customer; its lift holds up to the catalog's price grid (within a few percent).
EXPERIMENT_TRUE_EFFECTS = {
    "EXP-NEWPROD-INVITE": {
        "metric": "conversion",
        "control": 0.55,
        "treatment": 0.58,
        "lift": 0.03,
    },
    "EXP-WINBACK-COUPON": {
        "metric": "revenue_per_user",
        "control_conversion": 0.03,
        "treatment_conversion": 0.10,
        "coupon": WINBACK_COUPON,
        "basket_mean": WINBACK_BASKET_MEAN,
        "control": 0.03 * WINBACK_BASKET_MEAN,
        "treatment": 0.10 * (WINBACK_BASKET_MEAN - WINBACK_COUPON),
        "lift": 0.10 * (WINBACK_BASKET_MEAN - WINBACK_COUPON) - 0.03 * WINBACK_BASKET_MEAN,
    },
}


@dataclass(frozen=True)
class Catalog:
    """Reference data; every frame has exactly its table's columns (see cockpit.db.schema)."""

    suppliers: pd.DataFrame
    products: pd.DataFrame
    warehouses: pd.DataFrame
    channels: pd.DataFrame
    campaigns: pd.DataFrame
    experiments: pd.DataFrame
    stock_levels: pd.DataFrame


# --- deterministic hashing ------------------------------------------------------------------


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hash_uniform(seed: int, keys: np.ndarray, salt: int) -> np.ndarray:
    """Uniform floats in [0, 1), a pure function of (seed, key, salt): traits without state."""
    with np.errstate(over="ignore"):
        k = np.asarray(keys).astype(np.uint64)
        h = _splitmix64(np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x100000001B3) + np.uint64(salt))
        z = _splitmix64(k ^ h)
        z = _splitmix64(z + np.uint64(salt))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def text_uniform(text: str, salt: str = "") -> float:
    """A uniform float in [0, 1) from a string (stable across processes, unlike hash())."""
    digest = hashlib.blake2b(f"{salt}|{text}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 11) / 9007199254740992.0


def local_day(ts_utc: np.ndarray | int) -> np.ndarray | int:
    """Shop-local day number (days since 1970-01-01 in UTC+8) of epoch seconds."""
    return (ts_utc + TZ_OFFSET_HOURS * 3600) // SECONDS_PER_DAY


def region_km() -> np.ndarray:
    """Great-circle km between the regions' representative cities (7 x 7), local trips 150 km."""
    lat = np.radians(REGION_LATLON[:, 0])
    lon = np.radians(REGION_LATLON[:, 1])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(a))
    return np.maximum(km, LOCAL_DELIVERY_KM)


# --- product traits -------------------------------------------------------------------------

def product_traits(products: pd.DataFrame) -> pd.DataFrame:
    """Hidden traits per SKU (same row order as `products`), derived from the SKU codes:
    popularity (demand share among launched products; the planned shares sum to 1, a faded
    SKU keeps FADED_FACTOR of its share), planned_popularity (the share its stock was bought
    for), faded (out of fashion: dead stock), quality (0 poor .. 1 great), category_code (index
    into CATEGORY_NAMES)."""
    skus = products["sku"].tolist()
    u_pop = np.array([text_uniform(s, "popularity") for s in skus])
    u_q = np.array([text_uniform(s, "quality") for s in skus])
    category = products["category"].to_numpy(dtype=object)
    cat_code = np.array([CATEGORY_NAMES.index(c) if c in CATEGORIES else 0 for c in category])
    cat_weight = np.array([CATEGORIES[CATEGORY_NAMES[c]][6] for c in cat_code])
    median = np.array([CATEGORIES[CATEGORY_NAMES[c]][2] for c in cat_code])
    price = products["price"].to_numpy(dtype=float)
    # Within a category a few SKUs sell most (a Zipf-like tail); dearer items sell less.
    pop = cat_weight * np.exp(3.0 * u_pop**2) * (price / median) ** -0.5
    pop = pop / pop.sum()
    faded = (np.array([text_uniform(s, "faded") for s in skus]) < FADED_SHARE) & (u_pop < FADED_MAX_U_POP)
    quality = np.where(u_q < 0.08, 0.10 + u_q * 2.0, 0.35 + 0.6 * u_q**0.6)
    return pd.DataFrame({"sku": products["sku"], "popularity": np.where(faded, pop * FADED_FACTOR, pop),
                         "planned_popularity": pop, "faded": faded, "quality": quality, "category_code": cat_code})


# --- the catalog ----------------------------------------------------------------------------

def _price_grid(p: np.ndarray) -> np.ndarray:
    """Shop prices end in 9 or 9.9 (159, 49.9)."""
    whole = np.where(p >= 100, np.round(p / 10) * 10 - 1, np.round(p) - 0.1)
    return np.maximum(whole, 9.9)


def _products(rng: np.random.Generator, history_start_minute: int) -> pd.DataFrame:
    numbers = rng.choice(np.arange(1000, 10000), size=sum(s[1] for s in CATEGORIES.values()), replace=False)
    rows = []
    i = 0
    for category, (prefix, n, median, sigma, cost_lo, cost_hi, *_rest) in CATEGORIES.items():
        items = _ITEMS[category]
        suppliers = _CATEGORY_SUPPLIERS[category]
        for j in range(n):
            price = float(_price_grid(np.array([median * np.exp(sigma * rng.standard_normal())]))[0])
            brand = _BRANDS[int(rng.integers(len(_BRANDS)))]
            rows.append(
                {
                    "sku": f"{prefix}-{numbers[i]}",
                    "name": f"{brand} {items[j % len(items)]}" + (f" {j // len(items) + 1}" if j >= len(items) else ""),
                    "category": category,
                    "price": price,
                    "cost": round(price * rng.uniform(cost_lo, cost_hi), 2),
                    "supplier_id": suppliers[j % len(suppliers)],
                }
            )
            i += 1
    products = pd.DataFrame(rows)
    start_s = history_start_minute * 60
    launched = start_s - rng.integers(30, 1100, size=len(products)) * SECONDS_PER_DAY
    # The newest products: a few just before history starts, a few during it.
    new_idx = rng.choice(len(products), size=NEW_PRODUCTS_BEFORE + NEW_PRODUCTS_DURING, replace=False)
    offsets = np.concatenate(
        [-rng.uniform(2, 20, NEW_PRODUCTS_BEFORE), np.sort(rng.uniform(3, 24, NEW_PRODUCTS_DURING))]
    )
    launched[new_idx] = start_s + (offsets * SECONDS_PER_DAY).astype(np.int64)
    launched = launched - (launched + TZ_OFFSET_HOURS * 3600) % 3600  # on the hour
    products["launched_ts_utc"] = launched.astype(np.int64)
    return products


def warehouse_routes() -> list[list[int]]:
    """Per region index: the warehouse indices an order tries, in order: the region's forward
    warehouse, then the regional warehouses from nearest to farthest."""
    km = region_km()
    region_idx = {r: i for i, r in enumerate(REGIONS)}
    regional = [w for w, spec in enumerate(WAREHOUSES) if spec[3] == "regional"]
    routes = []
    for r in range(len(REGIONS)):
        forward = [w for w, spec in enumerate(WAREHOUSES) if spec[3] == "forward" and region_idx[spec[2]] == r]
        by_distance = sorted(regional, key=lambda w: km[region_idx[WAREHOUSES[w][2]], r])
        routes.append(forward + by_distance)
    return routes


def _forward_assortment(traits: pd.DataFrame, seed: int) -> np.ndarray:
    """Boolean (n_sku x n_warehouse): which SKU each warehouse carries."""
    n = len(traits)
    carried = np.ones((n, len(WAREHOUSES)), dtype=bool)
    order = np.argsort(-traits["popularity"].to_numpy())
    for w, spec in enumerate(WAREHOUSES):
        if spec[3] != "forward":
            continue
        keep = np.zeros(n, dtype=bool)
        keep[order[:FORWARD_TOP_SKUS]] = True
        rest = order[FORWARD_TOP_SKUS:]
        u = hash_uniform(seed, np.arange(len(rest)) + 1000 * w, salt=17)
        keep[rest[np.argsort(u)[:FORWARD_EXTRA_SKUS]]] = True
        carried[:, w] = keep
    return carried


def _expected_daily_units(traits: pd.DataFrame, carried: np.ndarray) -> np.ndarray:
    """Planning demand (units per normal day) per SKU x warehouse, following the routes."""
    per_sku = UNITS_PER_DAY * traits["popularity"].to_numpy()
    demand = np.zeros(carried.shape)
    for r, route in enumerate(warehouse_routes()):
        first = np.full(len(per_sku), route[-1])
        for w in reversed(route):
            first = np.where(carried[:, w], w, first)
        np.add.at(demand, (np.arange(len(per_sku)), first), per_sku * REGION_SHARE[r])
    return demand


def build_catalog(seed: int, history_start_minute: int) -> Catalog:
    """The shop's reference data for a seed; products launch relative to history_start_minute
    (minutes since the epoch, UTC). Same arguments, same catalog."""
    rng = np.random.default_rng([seed, 7_919])
    start_s = history_start_minute * 60
    suppliers = pd.DataFrame(SUPPLIERS, columns=["supplier_id", "name", "lead_time_days"])
    products = _products(rng, history_start_minute)
    warehouses = pd.DataFrame(WAREHOUSES, columns=["warehouse_id", "name", "region", "tier"])
    channels = pd.DataFrame(CHANNELS, columns=["channel", "name", "kind"])
    campaigns = pd.DataFrame(
        {
            "campaign_id": [c[0] for c in CAMPAIGN_SPECS],
            "channel": [c[1] for c in CAMPAIGN_SPECS],
            "name": [c[2] for c in CAMPAIGN_SPECS],
            "daily_budget": [c[3] for c in CAMPAIGN_SPECS],
            "roi_floor": [c[4] for c in CAMPAIGN_SPECS],
            "status": "active",
            "start_ts_utc": start_s - rng.integers(20, 200, size=len(CAMPAIGN_SPECS)) * SECONDS_PER_DAY,
        }
    )
    day0 = local_day(start_s)
    exp_start = [
        (day0 + spec[6]) * SECONDS_PER_DAY + (EXPERIMENT_START_HOUR_LOCAL - TZ_OFFSET_HOURS) * 3600
        for spec in EXPERIMENTS
    ]
    experiments = pd.DataFrame(
        {
            "experiment_id": [e[0] for e in EXPERIMENTS],
            "name": [e[1] for e in EXPERIMENTS],
            "description": [e[2] for e in EXPERIMENTS],
            "target_segment": [e[3] for e in EXPERIMENTS],
            "arms": [e[4] for e in EXPERIMENTS],
            "metric": [e[5] for e in EXPERIMENTS],
            "start_ts_utc": np.array(exp_start, dtype=np.int64),
            "end_ts_utc": np.array(exp_start, dtype=np.int64) + EXPERIMENT_DAYS * SECONDS_PER_DAY,
        }
    )
    stock_levels = _opening_stock(products, seed, start_s, rng)
    return Catalog(suppliers, products, warehouses, channels, campaigns, experiments, stock_levels)


def _opening_stock(products: pd.DataFrame, seed: int, start_s: int, rng: np.random.Generator) -> pd.DataFrame:
    # Stock was bought for the planned pace: a faded SKU's is dead stock now.
    traits = product_traits(products)
    traits = traits.assign(popularity=traits["planned_popularity"])
    carried = _forward_assortment(traits, seed)
    demand = _expected_daily_units(traits, carried)
    supplier_lt = dict(zip([s[0] for s in SUPPLIERS], [s[2] for s in SUPPLIERS]))
    rows = []
    for i, sku in enumerate(products["sku"]):
        base_lt = supplier_lt.get(products["supplier_id"].iat[i], 7.0)
        for w, spec in enumerate(WAREHOUSES):
            if not carried[i, w]:
                continue
            tier = spec[3]
            lead_time = base_lt + (1.0 if tier == "forward" else 0.0)
            d = max(demand[i, w], 0.05)
            # Daily sales are over-dispersed (bursty baskets): sigma ~ 1.5 sqrt(d).
            safety = int(np.ceil(SAFETY_Z * 1.5 * np.sqrt(d) * np.sqrt(lead_time)))
            reorder_point = int(np.ceil(d * lead_time)) + safety
            on_hand = reorder_point + int(d * COVER_DAYS[tier] * rng.uniform(0.3, 1.1)) + 2
            rows.append((sku, spec[0], on_hand, max(safety, 1), max(reorder_point, 2), lead_time, start_s))
    return pd.DataFrame(
        rows,
        columns=["sku", "warehouse_id", "on_hand", "safety_stock", "reorder_point", "lead_time_days", "updated_ts_utc"],
    ).astype({"on_hand": "int64", "safety_stock": "int64", "reorder_point": "int64", "lead_time_days": "float64",
              "updated_ts_utc": "int64"})
