"""Customer lifetime value: BG/NBD repeat purchases and Gamma-Gamma spend, fitted by maximum likelihood.

The models and their conventions follow the literature the lifetimes library follows:

- Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
  Pareto/NBD model", Marketing Science 24(2): the BG/NBD likelihood and conditional expectation;
  P(alive) as in their note "Computing P(alive) using the BG/NBD model".
- Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (and Fader, Hardie & Lee 2005,
  "RFM and CLV: using iso-value curves for customer base analysis"): the spend model.

A customer's first purchase is their birth, not a repeat; all orders on one calendar day count as
one transaction (their amounts summed); recency and age are measured in whole days and expressed
in `time_unit` (weeks: days / 7, fractional). The fits maximise the exact log-likelihoods with
scipy.optimize on log-parameters, so the estimates are the maximum-likelihood ones (no priors).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from models._frames import amounts, as_day, customer_ids, naive_utc, require_columns
from models.phrases import phrase

DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")
_LOG_BOUND = 12.0  # parameters live in [e^-12, e^12]: wide, but keeps gammaln and hyp2f1 finite


def summary_from_transactions(
    transactions: pd.DataFrame, *, observation_end, time_unit: str = "W"
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary_value as of `observation_end` (inclusive).

    `transactions` has `customer_id`, `date` (datetime) and `amount` (float, >= 0); every row must
    fall on or before `observation_end`. Orders on the same calendar day are one transaction.
    Returns a DataFrame indexed by `customer_id` (sorted) with:
    - `frequency`: number of repeat transaction days (days with a purchase, less the first one);
    - `recency`: time from the first to the last purchase day, in `time_unit`;
    - `T`: time from the first purchase day to `observation_end`, in `time_unit`;
    - `monetary_value`: mean amount of the repeat transaction days (NaN with no repeat purchase).
    """
    days = _daily_totals(transactions, observation_end)
    unit = _days_per_unit(time_unit)
    end = as_day(observation_end, "observation_end")
    grouped = days.groupby("customer_id", sort=True)
    first = grouped["date"].min()
    last = grouped["date"].max()
    count = grouped["date"].size()
    total = grouped["amount"].sum()
    first_amount = days.loc[grouped["date"].idxmin(), ["customer_id", "amount"]].set_index("customer_id")["amount"]
    frequency = (count - 1).astype("int64")
    repeat_total = total - first_amount.reindex(total.index)
    monetary = (repeat_total / frequency.where(frequency > 0)).astype("float64")
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).dt.days.astype("float64") / unit,
            "T": (end - first).dt.days.astype("float64") / unit,
            "monetary_value": monetary,
        }
    )
    out.index.name = "customer_id"
    return out


@dataclass(frozen=True)
class BGNBDFit:
    """A fitted BG/NBD model and the summary it was fitted on (times in `time_unit`)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    summary: pd.DataFrame
    observation_end: pd.Timestamp
    time_unit: str

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def n_customers(self) -> int:
        return len(self.summary)

    def p_alive(self) -> pd.Series:
        """P(customer still active at observation_end | their history), per customer.

        A customer with no repeat purchase has probability 1: in the BG/NBD model a customer can
        only drop out right after a repeat purchase.
        """
        x, t_x, T = _xtT(self.summary)
        return pd.Series(1.0 / (1.0 + _dropout_odds(self.r, self.alpha, self.a, self.b, x, t_x, T)),
                         index=self.summary.index, name="p_alive")

    def expected_purchases(self, periods: float) -> pd.Series:
        """Expected number of transactions in the next `periods` time units, per customer (FHL 2005)."""
        periods = _non_negative(periods, "periods")
        x, t_x, T = _xtT(self.summary)
        values = _conditional_expected(self.r, self.alpha, self.a, self.b, x, t_x, T, periods)
        return pd.Series(values, index=self.summary.index, name="expected_purchases")


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma spend model and the summary it was fitted on."""

    p: float
    q: float
    v: float
    log_likelihood: float
    n_fitted: int
    summary: pd.DataFrame
    observation_end: pd.Timestamp

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    def population_mean_spend(self) -> float:
        """The mean transaction value across customers, p v / (q - 1) (finite only when q > 1)."""
        if self.q <= 1:
            raise ValueError(phrase("the fitted q = {q:.3f} <= 1, so the mean spend is infinite; the data has too few "
                                    "repeat buyers or extreme amounts for this model", q=self.q))
        return self.p * self.v / (self.q - 1)

    def expected_average_spend(self) -> pd.Series:
        """E[mean transaction value | history] per customer (Fader & Hardie 2013).

        A weighted mean of the population mean and the customer's own repeat-transaction mean;
        a customer with no repeat purchase gets the population mean.
        """
        population = self.population_mean_spend()
        x = self.summary["frequency"].to_numpy(dtype="float64")
        m = self.summary["monetary_value"].fillna(0.0).to_numpy(dtype="float64")
        weight = self.p * x / (self.p * x + self.q - 1)
        values = (1 - weight) * population + weight * m
        return pd.Series(values, index=self.summary.index, name="expected_average_spend")


def fit_bgnbd(transactions: pd.DataFrame, *, observation_end, time_unit: str = "W") -> BGNBDFit:
    """Fit the BG/NBD model by maximum likelihood on the transactions up to `observation_end`.

    Input as for `summary_from_transactions`. Returns a `BGNBDFit` with `.params`
    (`r`, `alpha` in `time_unit`, `a`, `b`), `.p_alive()` and `.expected_purchases(periods)`.
    """
    summary = summary_from_transactions(transactions, observation_end=observation_end, time_unit=time_unit)
    if (summary["T"] <= 0).all():
        raise ValueError(phrase("every customer's first purchase is on observation_end: there is no history to fit; "
                                "pick a later observation_end"))
    # Customers with identical (x, t_x, T) share a likelihood term: fit on the distinct rows, weighted.
    keys = summary[["frequency", "recency", "T"]]
    distinct = keys.value_counts(sort=False).reset_index(name="weight")
    x, t_x, T = (distinct[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    weight = distinct["weight"].to_numpy(dtype="float64")

    def negative_ll(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        return -float(np.dot(weight, _bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T))) / weight.sum()

    log_params, ll = _maximise(negative_ll, start=np.zeros(4), n=weight.sum())
    r, alpha, a, b = (float(v) for v in np.exp(log_params))
    return BGNBDFit(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, summary=summary,
                    observation_end=as_day(observation_end, "observation_end"), time_unit=time_unit)


def fit_gamma_gamma(transactions: pd.DataFrame, *, observation_end) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model by maximum likelihood on the customers with repeat purchases.

    Each repeat buyer contributes their number of repeat transactions x and the mean value m_x of
    those repeats (the first purchase is left out, as in Fader & Hardie 2013). Repeat buyers whose
    repeats are all worth 0 cannot enter the likelihood (it needs m_x > 0) and are left out of the
    fit; `n_fitted` says how many customers were used. Returns a `GammaGammaFit` with `.params`
    (`p`, `q`, `v`) and `.expected_average_spend()`.
    """
    summary = summary_from_transactions(transactions, observation_end=observation_end, time_unit="D")
    used = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(used) < 2:
        raise ValueError(phrase("the Gamma-Gamma model needs repeat buyers with positive spend; found {found}. Use a "
                                "longer history (a later observation_end) or more customers", found=len(used)))
    x = used["frequency"].to_numpy(dtype="float64")
    m = used["monetary_value"].to_numpy(dtype="float64")

    def negative_ll(log_params: np.ndarray) -> float:
        p, q, v = np.exp(log_params)
        return -float(np.sum(_gamma_gamma_log_likelihood(p, q, v, x, m))) / len(x)

    log_params, ll = _maximise(negative_ll, start=np.zeros(3), n=len(x))
    p, q, v = (float(val) for val in np.exp(log_params))
    return GammaGammaFit(p=p, q=q, v=v, log_likelihood=ll, n_fitted=len(used),
                         summary=summary[["frequency", "monetary_value"]],
                         observation_end=as_day(observation_end, "observation_end"))


def customer_lifetime_value(
    bgnbd_fit: BGNBDFit,
    gg_fit: GammaGammaFit,
    *,
    horizon_periods: int,
    discount_rate_per_period: float,
    margin: float = 1.0,
) -> pd.Series:
    """Discounted expected value of each customer's purchases over the next `horizon_periods`.

    CLV_i = margin * E[spend_i] * sum_{k=1..H} (E[Y_i(k)] - E[Y_i(k-1)]) / (1 + d)^k, where Y_i(k)
    is the expected number of purchases in the next k periods (BG/NBD, in the fit's `time_unit`),
    E[spend_i] the Gamma-Gamma expected transaction value, d the discount rate per period (e.g.
    0.10 a year is (1.10)^(1/52) - 1 a week) and purchases within period k are discounted as if at
    its end. Both fits must come from the same transactions and `observation_end`. Returns a
    Series `clv` indexed by customer, in the currency of `amount`.
    """
    if not isinstance(bgnbd_fit, BGNBDFit) or not isinstance(gg_fit, GammaGammaFit):
        raise ValueError("pass the results of fit_bgnbd and fit_gamma_gamma")
    if isinstance(horizon_periods, bool) or not isinstance(horizon_periods, (int, np.integer)) or horizon_periods < 1:
        raise ValueError(f"horizon_periods must be a whole number >= 1, got {horizon_periods!r}")
    if not np.isfinite(discount_rate_per_period) or discount_rate_per_period <= -1:
        raise ValueError(f"discount_rate_per_period must be a rate above -1 (0.01 is 1%), got {discount_rate_per_period!r}")
    if bgnbd_fit.observation_end != gg_fit.observation_end or not bgnbd_fit.summary.index.equals(gg_fit.summary.index):
        raise ValueError("the two fits cover different customers or observation_end dates; fit both on the same "
                         "transactions with the same observation_end")
    spend = gg_fit.expected_average_spend()
    x, t_x, T = _xtT(bgnbd_fit.summary)
    params = (bgnbd_fit.r, bgnbd_fit.alpha, bgnbd_fit.a, bgnbd_fit.b)
    value = np.zeros(len(x))
    previous = np.zeros(len(x))
    for k in range(1, int(horizon_periods) + 1):
        cumulative = _conditional_expected(*params, x, t_x, T, float(k))
        value += (cumulative - previous) / (1.0 + discount_rate_per_period) ** k
        previous = cumulative
    return pd.Series(margin * spend.to_numpy() * value, index=bgnbd_fit.summary.index, name="clv")


# --- likelihoods and closed forms ------------------------------------------------------------


def _bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """ln L(r, alpha, a, b | x, t_x, T) per customer (FHL 2005), its two terms added in log space."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    survived = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Only customers with a repeat purchase can have dropped out right after their last one.
        died = np.where(
            x > 0,
            betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return common + np.logaddexp(survived, died)


def _dropout_odds(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """P(dropped out) / P(alive) given the history; 0 for customers without a repeat purchase."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(x > 0, np.exp(log_odds), 0.0)


def _conditional_expected(r, alpha, a, b, x, t_x, T, horizon) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t], t = horizon (FHL 2005)."""
    if horizon == 0:
        return np.zeros(len(x))
    z = horizon / (alpha + T + horizon)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    bracket = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + horizon))) * hyp
    return (a + b + x - 1) / (a - 1) * bracket / (1.0 + _dropout_odds(r, alpha, a, b, x, t_x, T))


def _gamma_gamma_log_likelihood(p, q, v, x, m) -> np.ndarray:
    """ln L(p, q, v | x, m_x) per repeat buyer (Fader & Hardie 2013)."""
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(px / p * m + v))


def _maximise(negative_mean_ll, *, start: np.ndarray, n: float) -> tuple[np.ndarray, float]:
    """Minimise a mean negative log-likelihood over log-parameters; return them and the total LL."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    first = minimize(negative_mean_ll, start, method="L-BFGS-B", bounds=bounds,
                     options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000})
    # L-BFGS-B with numerical gradients can stop a little short; Nelder-Mead polishes the optimum.
    polished = minimize(negative_mean_ll, first.x, method="Nelder-Mead", bounds=bounds,
                        options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 20_000, "maxfev": 40_000})
    best = polished if polished.fun <= first.fun else first
    if not np.isfinite(best.fun):
        raise ValueError(phrase("the log-likelihood is not finite at any tried parameters; check the data for "
                                "degenerate histories (e.g. every customer buying on a single day)"))
    if np.any(np.abs(best.x) >= _LOG_BOUND - 1e-6):
        raise ValueError(phrase("a parameter ran to the edge of its range (the data cannot identify the model); use "
                                "more customers or a longer observation period"))
    return best.x, -float(best.fun) * n


# --- input preparation -----------------------------------------------------------------------


def _daily_totals(transactions: pd.DataFrame, observation_end) -> pd.DataFrame:
    """One row per customer and purchase day, with the day's summed amount."""
    require_columns(transactions, ("customer_id", "date", "amount"), "transactions")
    end = as_day(observation_end, "observation_end")
    dates = naive_utc(transactions["date"], "date").dt.normalize()
    late = dates > end
    if late.any():
        raise ValueError(
            f"{int(late.sum())} transaction(s) fall after observation_end {end.date()} (latest {dates.max().date()}); "
            "filter them out or move observation_end"
        )
    frame = pd.DataFrame({
        "customer_id": customer_ids(transactions["customer_id"]).to_numpy(),
        "date": dates.to_numpy(),
        "amount": amounts(transactions["amount"]).to_numpy(),
    })
    return frame.groupby(["customer_id", "date"], as_index=False, sort=True)["amount"].sum()


def _days_per_unit(time_unit: str) -> float:
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"time_unit must be one of {sorted(DAYS_PER_UNIT)} (days, weeks, months), got {time_unit!r}")
    return DAYS_PER_UNIT[time_unit]


def _xtT(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))


def _non_negative(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number of time units, got {value!r}") from exc
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number
