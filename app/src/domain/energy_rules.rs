//! Energy rules as pure code: which emission factor applies, how a reduction target is
//! tracked and forecast to the year end, when an entity's hourly load is anomalous against its
//! own hour-of-week history, and how energy types are put on one scale (coal equivalent).
//! The rollup job, the target pages and the anomaly job ask these; nothing else decides.
//!
//! Instants are UTC milliseconds. Local time is Asia/Shanghai, UTC+8 all year (no daylight
//! saving), so the local clock is plain arithmetic: a local day starts at 16:00 UTC the day
//! before. Amounts are in each energy type's unit: electricity kWh, heat GJ, water and gas m³.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// Asia/Shanghai's offset from UTC.
const OFFSET_MS: i64 = 8 * HOUR_MS;

// ---------------------------------------------------------------------------------------------
// 1. Emission factors
// ---------------------------------------------------------------------------------------------

/// A published emission factor: kilograms of CO₂ per unit of the energy type, for one year
/// and one region (a grid region or province, or `national`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub year: i32,
    pub region: String,
    pub energy_type: String,
    pub kg_per_unit: f64,
}

/// Region code of the nationwide factors, used where a region publishes none of its own.
pub const NATIONAL: &str = "national";

/// The factor to apply to consumption of `energy_type` in `year` and `region`.
///
/// Pass the factors in force only (superseded revisions left out). The choice, in order:
/// 1. the region's own factor for that year;
/// 2. the national factor for that year;
/// 3. otherwise the most recent earlier year that has one: the latest year wins, and within
///    the same year the region's factor beats the national one.
///
/// A later year's factor is never used for earlier consumption: factors are published a year
/// or two late, and carrying the newest figure back would silently restate history. With
/// only later years on file the answer is `None`, and the carbon stays uncomputed until a
/// factor for the year (or an earlier one) is entered.
pub fn pick_factor<'a>(
    factors: &'a [Factor],
    year: i32,
    region: &str,
    energy_type: &str,
) -> Option<&'a Factor> {
    factors
        .iter()
        .filter(|f| f.energy_type == energy_type && f.year <= year)
        .filter(|f| f.region == region || f.region == NATIONAL)
        // Latest year first; at the same year the region's own factor first.
        .max_by_key(|f| (f.year, f.region == region))
}

// ---------------------------------------------------------------------------------------------
// 2. Target progress and year-end forecast
// ---------------------------------------------------------------------------------------------

/// Share of the current month that must have elapsed before its own figure is extrapolated;
/// the first three days of a month are too few to say anything about the month.
pub const MIN_ELAPSED: f64 = 0.1;
/// How far (per cent) the forecast may exceed the target and still count as at risk rather
/// than off track: a gap a winter's careful operation can still close.
pub const AT_RISK_PCT: f64 = 5.0;

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The forecast year-end total is at or below the target.
    OnTrack,
    /// The forecast exceeds the target by at most `AT_RISK_PCT` per cent.
    AtRisk,
    /// The forecast exceeds the target by more than `AT_RISK_PCT` per cent.
    OffTrack,
    /// No baseline to measure against, or no usable figure of the target year yet.
    NoData,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoData,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::OffTrack => "off_track",
            Status::NoData => "no_data",
        }
    }
    pub fn from_code(c: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == c)
    }
}

/// A target's progress in its target year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The year's allowance: baseline-year total × (1 − reduction %).
    pub target: f64,
    /// Consumption so far over the months judged (see [`progress`]).
    pub ytd_actual: f64,
    /// The baseline year's consumption over the same stretch of the calendar.
    pub ytd_baseline: f64,
    /// Forecast year-end total; `None` with `Status::NoData`.
    pub forecast: Option<f64>,
    /// (forecast − target) / target in per cent: negative means headroom.
    pub forecast_vs_target_pct: Option<f64>,
    pub status: Status,
}

/// Progress of a reduction target and its year-end forecast.
///
/// * `baseline_monthly`: the baseline year's consumption (or carbon) per month, January first.
/// * `reduction_pct`: the promised reduction; the target is `B × (1 − r/100)` where `B` is
///   the baseline year's total.
/// * `actual_monthly`: the target year per month; `None` for a month not started (or, for a
///   finished month, one without data).
/// * `current_month` (1–12) and `elapsed_fraction` (0–1): how far the year has run.
///
/// Method. Energy use in Taiyuan is strongly seasonal (district heating runs from
/// mid-November to mid-March), so a straight-line extrapolation of the year so far misjudges
/// every target: in summer it flatters, in winter it alarms. Instead the baseline year gives
/// the seasonal shape and the target year so far gives the level:
/// 1. The months judged are the finished months with figures, plus the current month when at
///    least `MIN_ELAPSED` of it has run. Their consumption is `ytd_actual`; the baseline
///    year's consumption over the same stretch (the current month pro rata, baseline month ×
///    elapsed fraction) is `ytd_baseline`.
/// 2. The ratio `ytd_actual / ytd_baseline` says how this year runs against the baseline
///    (0.9 = ten per cent less). If the stretch had no baseline consumption at all (a heating
///    target judged only in summer months), there is nothing to scale by and the ratio is 1.
/// 3. The forecast adds up: finished months at their actual figures; the current month, when
///    judged, at its figure scaled up to the whole month (actual ÷ elapsed fraction),
///    otherwise at its baseline share × ratio (never below what it has already used); every
///    other month (remaining, or finished without data) at its baseline × ratio. A month with
///    zero baseline therefore forecasts zero unless it has its own figure.
/// 4. On track when the forecast is at most the target (a rounding tolerance of one part in
///    a billion, so a forecast exactly on target counts as on track); at risk when at most
///    `AT_RISK_PCT` per cent over; off track beyond.
///
/// No data when the baseline total is not positive (nothing to reduce from) or no month is
/// judged yet (the first tenth of January).
pub fn progress(
    baseline_monthly: &[f64; 12],
    reduction_pct: f64,
    actual_monthly: &[Option<f64>; 12],
    current_month: u32,
    elapsed_fraction: f64,
) -> Progress {
    let base = baseline_monthly.map(finite_or_zero);
    let actual = actual_monthly.map(|a| a.filter(|v| v.is_finite()));
    let cm = current_month.clamp(1, 12) as usize - 1;
    let f = finite_or_zero(elapsed_fraction).clamp(0.0, 1.0);
    let baseline_total: f64 = base.iter().sum();
    let target = baseline_total * (1.0 - reduction_pct / 100.0);

    let mut ytd_actual = 0.0;
    let mut ytd_baseline = 0.0;
    let mut judged = false;
    for m in 0..cm {
        if let Some(a) = actual[m] {
            ytd_actual += a;
            ytd_baseline += base[m];
            judged = true;
        }
    }
    let current = actual[cm].filter(|_| f >= MIN_ELAPSED);
    if let Some(a) = current {
        ytd_actual += a;
        ytd_baseline += base[cm] * f;
        judged = true;
    }

    let no_data = Progress {
        target,
        ytd_actual,
        ytd_baseline,
        forecast: None,
        forecast_vs_target_pct: None,
        status: Status::NoData,
    };
    if baseline_total <= 0.0 || target.is_nan() || target <= 0.0 || !judged {
        return no_data;
    }

    let ratio = if ytd_baseline > 0.0 {
        ytd_actual / ytd_baseline
    } else {
        1.0
    };
    let forecast: f64 = (0..12)
        .map(|m| {
            if m < cm {
                actual[m].unwrap_or(base[m] * ratio)
            } else if m == cm {
                match current {
                    Some(a) => a / f,
                    None => (base[m] * ratio).max(actual[m].unwrap_or(0.0)),
                }
            } else {
                base[m] * ratio
            }
        })
        .sum();
    let pct = (forecast - target) / target * 100.0;
    let status = if forecast <= target * (1.0 + 1e-9) {
        Status::OnTrack
    } else if pct <= AT_RISK_PCT {
        Status::AtRisk
    } else {
        Status::OffTrack
    };
    Progress {
        forecast: Some(forecast),
        forecast_vs_target_pct: Some(pct),
        status,
        ..no_data
    }
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Anomalies against the hour-of-week baseline
// ---------------------------------------------------------------------------------------------

/// Local night: the hours from 00:00 to 05:59, when an office, a school or a street with its
/// lights already dimmed should draw only its base load.
pub const NIGHT_HOURS: i64 = 6;

/// Hour of the week in local time: 0 = Monday 00:00–00:59, 167 = Sunday 23:00–23:59.
/// (Day 0 of the local calendar, 1970-01-01, was a Thursday.)
pub fn hour_of_week(ms: i64) -> usize {
    let local = ms + OFFSET_MS;
    let day = local.div_euclid(DAY_MS);
    let weekday = (day + 3).rem_euclid(7); // Monday = 0
    let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
    (weekday * 24 + hour) as usize
}

/// Local day number (days since 1970-01-01 in Shanghai) and local hour of an instant.
fn local_day_hour(ms: i64) -> (i64, i64) {
    let local = ms + OFFSET_MS;
    (local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS) / HOUR_MS)
}

/// Start (UTC ms) of local day `day`.
fn day_start(day: i64) -> i64 {
    day * DAY_MS - OFFSET_MS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// One hour far above what that hour of the week usually draws.
    Spike,
    /// A night whose base load stayed raised: equipment, lighting or ventilation left running.
    NightBase,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 2] = [AnomalyKind::Spike, AnomalyKind::NightBase];
    pub fn code(self) -> &'static str {
        match self {
            AnomalyKind::Spike => "spike",
            AnomalyKind::NightBase => "night_base",
        }
    }
    pub fn from_code(c: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL.into_iter().find(|k| k.code() == c)
    }
}

/// A finding, as stored in `energy_anomalies`: for a spike the hour and its value, for a
/// raised night its first hour (local 00:00) and the night's mean hourly load; `expected` is
/// the baseline the value was judged against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub hour: i64,
    pub observed: f64,
    pub expected: f64,
}

/// How far from its own history an entity's load must go to be reported. Every entity is
/// judged against itself only (a hospital and a school differ too much for shared limits),
/// and the limits are set to keep a duty officer's list short: a reported anomaly should be
/// worth a phone call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// How many earlier weeks give the baseline of an hour (the same hour of the week in each).
    /// Four weeks follow the season yet outvote a single odd week. Default 4.
    pub baseline_weeks: usize,
    /// Fewest earlier values (hours, or nights) needed before any verdict: with fewer, a new
    /// meter or a gap in the data would make every hour look odd. Default 3.
    pub min_history: usize,
    /// A spike lies more than this many median absolute deviations (MAD) above the baseline
    /// median. The MAD measures how much the hour usually varies, and unlike a standard
    /// deviation one odd week cannot inflate it. Default 6.
    pub spike_mad: f64,
    /// ... and more than this fraction of the median above it, so that an hour that never
    /// varies (MAD zero) is not reported for a few per cent. Default 0.5 (half again the usual).
    pub spike_rel: f64,
    /// ... and more than this absolute amount (in the series' unit) above it, so that tiny
    /// loads (a pump drawing 0.2 kWh instead of 0.1) are not reported. Set it per energy type
    /// and entity size; the default 1.0 suits a building's electricity in kWh.
    pub floor: f64,
    /// A night is reported when its mean hourly load exceeds this multiple of the usual
    /// night's (and by more than `floor`). Default 1.5.
    pub night_factor: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            baseline_weeks: 4,
            min_history: 3,
            spike_mad: 6.0,
            spike_rel: 0.5,
            floor: 1.0,
            night_factor: 1.5,
        }
    }
}

/// Median of a non-empty slice (mean of the two middle values for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Anomalies in one entity's hourly series of one energy type.
///
/// `hours` holds (hour start in UTC ms, consumption in that hour), ascending, covering the
/// examined hours and the weeks before them (five weeks for the defaults); hours with no
/// figure are simply absent. The hours at or after `since` are examined; earlier ones serve
/// only as history. The baseline of an hour is the same hour of the week in the previous
/// `baseline_weeks` weeks (never later ones, so a rerun finds the same), and an hour or a
/// night with fewer than `min_history` earlier figures gets no verdict.
///
/// * **Spike**: an hour whose value exceeds the baseline median by more than
///   `max(spike_mad × MAD, spike_rel × median)` and by more than `floor`. Expected = the
///   median.
/// * **NightBase**: a local night (00:00–05:59) whose mean hourly load exceeds
///   `night_factor` × the usual night and exceeds it by more than `floor`; the usual night is
///   the median of the night means of the same weekday in earlier weeks. The raise must be
///   sustained: the night's mean without its highest hour must exceed the limit as well, so
///   a single busy hour is a spike, not a raised night. Judged once all six hours are present
///   and one of them is examined; reported at the night's first hour, observed = the night's
///   mean, expected = the usual night's.
///
/// One cause, one report: the hours of a raised night are not reported again as spikes,
/// unless an hour also stands out from that night's own level (by `spike_rel` and `floor`).
///
/// Findings come sorted by hour. The same input always gives the same findings, and the
/// store's key (entity, type, kind, hour) makes a rerun over overlapping windows harmless.
pub fn detect(hours: &[(i64, f64)], since: i64, t: &Thresholds) -> Vec<Anomaly> {
    let by_hour: HashMap<i64, f64> = hours
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(h, v)| (h.div_euclid(HOUR_MS) * HOUR_MS, v))
        .collect();
    let earlier = |h: i64| -> Vec<f64> {
        (1..=t.baseline_weeks as i64)
            .filter_map(|k| by_hour.get(&(h - k * WEEK_MS)).copied())
            .collect()
    };
    let night = |day: i64| -> Option<[f64; NIGHT_HOURS as usize]> {
        let start = day_start(day);
        let mut out = [0.0; NIGHT_HOURS as usize];
        for (i, v) in out.iter_mut().enumerate() {
            *v = *by_hour.get(&(start + i as i64 * HOUR_MS))?;
        }
        Some(out)
    };
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;

    let mut examined: Vec<(i64, f64)> = by_hour
        .iter()
        .filter(|(&h, _)| h >= since)
        .map(|(&h, &v)| (h, v))
        .collect();
    examined.sort_by_key(|&(h, _)| h);

    // Raised nights first: their hours are spared the spike report.
    let mut found = Vec::new();
    let mut raised: HashMap<i64, f64> = HashMap::new(); // local day → the night's mean
    let mut days: Vec<i64> = examined
        .iter()
        .filter_map(|&(h, _)| {
            let (day, hour) = local_day_hour(h);
            (hour < NIGHT_HOURS).then_some(day)
        })
        .collect();
    days.dedup();
    for day in days {
        let Some(tonight) = night(day) else { continue };
        let mut usual: Vec<f64> = (1..=t.baseline_weeks as i64)
            .filter_map(|k| night(day - 7 * k))
            .map(|n| mean(&n))
            .collect();
        if usual.is_empty() || usual.len() < t.min_history {
            continue;
        }
        let expected = median(&mut usual);
        let observed = mean(&tonight);
        let mut sorted = tonight;
        sorted.sort_by(|a, b| a.total_cmp(b));
        let without_peak = mean(&sorted[..sorted.len() - 1]);
        let limit = t.night_factor * expected;
        if observed > limit && without_peak > limit && observed - expected > t.floor {
            raised.insert(day, observed);
            found.push(Anomaly {
                kind: AnomalyKind::NightBase,
                hour: day_start(day),
                observed,
                expected,
            });
        }
    }

    for &(h, v) in &examined {
        let mut history = earlier(h);
        if history.is_empty() || history.len() < t.min_history {
            continue;
        }
        let m = median(&mut history);
        let mut dev: Vec<f64> = history.iter().map(|x| (x - m).abs()).collect();
        let mad = median(&mut dev);
        let spike = v > m + (t.spike_mad * mad).max(t.spike_rel * m) && v - m > t.floor;
        if !spike {
            continue;
        }
        let (day, hour) = local_day_hour(h);
        if hour < NIGHT_HOURS {
            if let Some(&level) = raised.get(&day) {
                let stands_out = v > level * (1.0 + t.spike_rel) && v - level > t.floor;
                if !stands_out {
                    continue;
                }
            }
        }
        found.push(Anomaly {
            kind: AnomalyKind::Spike,
            hour: h,
            observed: v,
            expected: m,
        });
    }
    found.sort_by_key(|a| (a.hour, a.kind));
    found
}

// ---------------------------------------------------------------------------------------------
// 4. Coal equivalent
// ---------------------------------------------------------------------------------------------

/// Kilograms of standard coal equivalent (kgce; 1 kgce = 29 307.6 kJ) per unit of an energy
/// type, so that electricity, heat and gas can be added into one energy figure (tce = kgce /
/// 1 000) as in the city's energy-consumption statistics.
///
/// Reference coefficients of GB/T 2589-2020 《综合能耗计算通则》 (General principles for
/// calculation of the comprehensive energy consumption), appendix tables:
/// * electricity: 0.1229 kgce/kWh, the *equivalent* value (当量值: the 3 600 kJ a kWh
///   contains), not the *equal* value (等价值) that charges the power plant's coal;
/// * heat: 0.034 12 kgce/MJ = 34.12 kgce/GJ;
/// * natural gas: the standard gives 1.1000–1.3300 kgce/m³ by calorific value; 1.2143 is the
///   figure commonly used for pipeline gas and is used here throughout;
/// * water: not an energy carrier, so `None` (its carbon, if any, comes through an emission
///   factor, not through coal equivalent). Unknown types are `None` as well.
pub fn kgce_per_unit(energy_type: &str) -> Option<f64> {
    match energy_type {
        "electricity" => Some(0.1229),
        "heat" => Some(34.12),
        "gas" => Some(1.2143),
        _ => None,
    }
}

/// Tonnes of coal equivalent of `amount` units of `energy_type`; `None` where
/// [`kgce_per_unit`] has no coefficient.
pub fn tce(energy_type: &str, amount: f64) -> Option<f64> {
    kgce_per_unit(energy_type).map(|k| amount * k / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    // ---- emission factors -------------------------------------------------------------------

    fn factor(year: i32, region: &str, energy_type: &str, kg: f64) -> Factor {
        Factor {
            year,
            region: region.into(),
            energy_type: energy_type.into(),
            kg_per_unit: kg,
        }
    }

    fn table() -> Vec<Factor> {
        vec![
            factor(2021, NATIONAL, "electricity", 0.5810),
            factor(2022, NATIONAL, "electricity", 0.5703),
            factor(2021, "north_china", "electricity", 0.9419),
            factor(2022, "north_china", "electricity", 0.8843),
            factor(2023, NATIONAL, "electricity", 0.5366),
            factor(2022, NATIONAL, "heat", 110.0),
            factor(2020, "shanxi", "heat", 120.0),
        ]
    }

    #[test]
    fn the_regions_own_factor_of_the_year_comes_first() {
        let t = table();
        let f = pick_factor(&t, 2022, "north_china", "electricity").unwrap();
        assert_eq!(
            (f.year, f.region.as_str(), f.kg_per_unit),
            (2022, "north_china", 0.8843)
        );
        // The energy type must match: heat never takes an electricity factor.
        let f = pick_factor(&t, 2022, "north_china", "heat").unwrap();
        assert_eq!((f.year, f.region.as_str()), (2022, NATIONAL));
    }

    #[test]
    fn the_national_factor_of_the_year_beats_an_older_regional_one() {
        let t = table();
        // 2023: north_china has only 2022, but the national 2023 factor exists.
        let f = pick_factor(&t, 2023, "north_china", "electricity").unwrap();
        assert_eq!((f.year, f.region.as_str()), (2023, NATIONAL));
        // A region with no factors at all takes the national one.
        let f = pick_factor(&t, 2021, "east_china", "electricity").unwrap();
        assert_eq!((f.year, f.kg_per_unit), (2021, 0.5810));
    }

    #[test]
    fn without_a_factor_of_the_year_the_latest_earlier_year_applies() {
        let t = table();
        // 2025 electricity: latest on file is national 2023 (north_china stops at 2022).
        let f = pick_factor(&t, 2025, "north_china", "electricity").unwrap();
        assert_eq!((f.year, f.region.as_str()), (2023, NATIONAL));
        // Heat 2021 in shanxi: national 2022 is later (never used); shanxi 2020 applies.
        let f = pick_factor(&t, 2021, "shanxi", "heat").unwrap();
        assert_eq!((f.year, f.region.as_str()), (2020, "shanxi"));
        // At the same earlier year the region's factor wins over the national one.
        let t2 = vec![
            factor(2020, NATIONAL, "gas", 2.1),
            factor(2020, "shanxi", "gas", 2.2),
        ];
        let f = pick_factor(&t2, 2024, "shanxi", "gas").unwrap();
        assert_eq!(f.region, "shanxi");
    }

    #[test]
    fn a_later_years_factor_is_never_carried_back() {
        let t = table();
        assert!(pick_factor(&t, 2020, "north_china", "electricity").is_none());
        assert!(pick_factor(&t, 2019, "shanxi", "heat").is_none());
        assert!(pick_factor(&t, 2024, "shanxi", "water").is_none());
        assert!(pick_factor(&[], 2024, "shanxi", "gas").is_none());
    }

    // ---- targets ----------------------------------------------------------------------------

    const FLAT: [f64; 12] = [100.0; 12];
    /// A heating-season shape: Jan 300, Feb 300, Mar 200, Apr–Oct 50, Nov 200, Dec 300.
    /// Total 300+300+200 + 7×50 + 200+300 = 1650.
    const SEASONAL: [f64; 12] = [
        300.0, 300.0, 200.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 200.0, 300.0,
    ];

    fn months(known: &[f64]) -> [Option<f64>; 12] {
        let mut a = [None; 12];
        for (i, v) in known.iter().enumerate() {
            a[i] = Some(*v);
        }
        a
    }

    #[test]
    fn flat_baseline_with_a_half_month() {
        // B = 1200, r = 10 % → T = 1080. Jan–Mar 90 each, April half gone with 45.
        // ytd_actual = 270 + 45 = 315; ytd_baseline = 300 + 100 × 0.5 = 350; ratio = 0.9.
        // Forecast = 270 + 45 / 0.5 + 8 × 100 × 0.9 = 270 + 90 + 720 = 1080 = T → on track.
        let p = progress(&FLAT, 10.0, &months(&[90.0, 90.0, 90.0, 45.0]), 4, 0.5);
        assert!(close(p.target, 1080.0));
        assert!(close(p.ytd_actual, 315.0));
        assert!(close(p.ytd_baseline, 350.0));
        assert!(close(p.forecast.unwrap(), 1080.0));
        assert!(close(p.forecast_vs_target_pct.unwrap(), 0.0));
        assert_eq!(p.status, Status::OnTrack);
    }

    #[test]
    fn seasonal_baseline_is_followed_not_a_straight_line() {
        // B = 1650, r = 10 % → T = 1485. January–June done, 20 % below baseline:
        // 240, 240, 160, 40, 40, 40 → ytd_actual 760 against ytd_baseline 950; ratio 0.8.
        // July has just begun (fraction 0). Forecast = 760 + 0.8 × (Jul–Dec baseline
        // 50×4 + 200 + 300 = 700) = 760 + 560 = 1320; (1320 − 1485) / 1485 = −11.11 %.
        // A straight line (760 × 2 = 1520) would call this off track: the heating months
        // still to come are what the baseline shape accounts for.
        let a = months(&[240.0, 240.0, 160.0, 40.0, 40.0, 40.0]);
        let p = progress(&SEASONAL, 10.0, &a, 7, 0.0);
        assert!(close(p.target, 1485.0));
        assert!(close(p.ytd_actual, 760.0) && close(p.ytd_baseline, 950.0));
        assert!(close(p.forecast.unwrap(), 1320.0));
        assert!(close(
            p.forecast_vs_target_pct.unwrap(),
            -165.0 / 1485.0 * 100.0
        ));
        assert_eq!(p.status, Status::OnTrack);
        assert!(760.0 * 2.0 > p.target);
    }

    #[test]
    fn a_current_month_under_a_tenth_gone_takes_its_baseline_share() {
        // As above, July 5 % gone with 10 used (scaled up that would be 200, four times the
        // baseline month). Under a tenth: July is not judged; it forecasts at its baseline ×
        // ratio = 50 × 0.8 = 40 (more than the 10 used), and the ytd figures leave it out.
        // Forecast stays 1320.
        let a = months(&[240.0, 240.0, 160.0, 40.0, 40.0, 40.0, 10.0]);
        let p = progress(&SEASONAL, 10.0, &a, 7, 0.05);
        assert!(close(p.ytd_actual, 760.0) && close(p.ytd_baseline, 950.0));
        assert!(close(p.forecast.unwrap(), 1320.0));
        // Never below what the month has already used: 45 used in 5 % → counts 45, not 40.
        let a = months(&[240.0, 240.0, 160.0, 40.0, 40.0, 40.0, 45.0]);
        let p = progress(&SEASONAL, 10.0, &a, 7, 0.05);
        assert!(close(p.forecast.unwrap(), 1325.0));
    }

    #[test]
    fn a_current_month_half_gone_is_scaled_up_and_joins_the_ratio() {
        // July half gone with 30 used. ytd_actual = 760 + 30 = 790; ytd_baseline = 950 +
        // 50 × 0.5 = 975; ratio = 790/975. July forecasts 30 / 0.5 = 60; Aug–Dec baseline
        // 50×3 + 200 + 300 = 650 → 650 × 790/975 = 526.667. Forecast = 760 + 60 + 526.667
        // = 1346.667 < 1485 → on track.
        let a = months(&[240.0, 240.0, 160.0, 40.0, 40.0, 40.0, 30.0]);
        let p = progress(&SEASONAL, 10.0, &a, 7, 0.5);
        assert!(close(p.ytd_actual, 790.0) && close(p.ytd_baseline, 975.0));
        assert!(close(p.forecast.unwrap(), 820.0 + 650.0 * 790.0 / 975.0));
        assert_eq!(p.status, Status::OnTrack);
    }

    #[test]
    fn a_finished_month_without_data_forecasts_like_a_remaining_one() {
        // Flat baseline, T = 1080; Feb missing. Judged: Jan and Mar at 90 → ratio 0.9.
        // Forecast = 90 + 90 (Feb: 100 × 0.9) + 90 + 9 × 90 = 1080.
        let mut a = months(&[90.0, 0.0, 90.0]);
        a[1] = None;
        let p = progress(&FLAT, 10.0, &a, 4, 0.0);
        assert!(close(p.ytd_actual, 180.0) && close(p.ytd_baseline, 200.0));
        assert!(close(p.forecast.unwrap(), 1080.0));
    }

    #[test]
    fn zero_baseline_months_divide_by_nothing() {
        // Heat: Jan 300, Feb 250, Mar 150, Apr–Oct 0, Nov 150, Dec 300 → B = 1150;
        // r = 20 % → T = 920. June half gone with 0 used: ytd_actual = 240 + 200 + 120 = 560,
        // ytd_baseline = 700 + 0 × 0.5 = 700, ratio 0.8. June 0 / 0.5 = 0; Jul–Oct 0;
        // Nov 150 × 0.8 = 120; Dec 300 × 0.8 = 240. Forecast = 560 + 360 = 920 = T.
        let heat = [
            300.0, 250.0, 150.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 150.0, 300.0,
        ];
        let a = months(&[240.0, 200.0, 120.0, 0.0, 0.0, 0.0]);
        let p = progress(&heat, 20.0, &a, 6, 0.5);
        assert!(close(p.target, 920.0));
        assert!(close(p.forecast.unwrap(), 920.0));
        assert_eq!(p.status, Status::OnTrack);

        // Some hot-water heat in a zero-baseline month: 5 in half of May → May forecasts 10.
        let a = months(&[240.0, 200.0, 120.0, 0.0, 5.0]);
        let p = progress(&heat, 20.0, &a, 5, 0.5);
        // ratio = 565 / 700; Jun–Oct 0; Nov + Dec = 450 × 565/700 = 363.214.
        assert!(close(
            p.forecast.unwrap(),
            560.0 + 10.0 + 450.0 * 565.0 / 700.0
        ));

        // Only zero-baseline months judged (a station first heating in November): nothing
        // to scale by, ratio 1. Baseline Nov 100, Dec 100 → B = 200, T = 180 at 10 %.
        // January half gone with 0: forecast 0 + 200 → 11.1 % over → off track; no NaN.
        let mut new_station = [0.0; 12];
        new_station[10] = 100.0;
        new_station[11] = 100.0;
        let p = progress(&new_station, 10.0, &months(&[0.0]), 1, 0.5);
        assert_eq!(p.ytd_baseline, 0.0);
        assert!(close(p.forecast.unwrap(), 200.0));
        assert!(p.forecast_vs_target_pct.unwrap().is_finite());
        assert_eq!(p.status, Status::OffTrack);
    }

    #[test]
    fn status_boundaries() {
        // The year is complete (December, fraction 1): the forecast is the year's actual.
        // B = 1200, r = 10 % → T = 1080.
        let year = |dec_extra: f64| {
            let mut a = [Some(90.0); 12];
            a[11] = Some(90.0 + dec_extra);
            progress(&FLAT, 10.0, &a, 12, 1.0)
        };
        // Exactly 1080 → on track.
        let p = year(0.0);
        assert!(close(p.forecast.unwrap(), 1080.0));
        assert_eq!(p.status, Status::OnTrack);
        // 4.9 % over: 1080 × 0.049 = 52.92 more → 1132.92 → at risk.
        let p = year(52.92);
        assert!(close(p.forecast_vs_target_pct.unwrap(), 4.9));
        assert_eq!(p.status, Status::AtRisk);
        // 5.1 % over: 1080 × 0.051 = 55.08 more → 1135.08 → off track.
        let p = year(55.08);
        assert!(close(p.forecast_vs_target_pct.unwrap(), 5.1));
        assert_eq!(p.status, Status::OffTrack);
        // Just under the target is on track too.
        assert_eq!(year(-0.01).status, Status::OnTrack);
    }

    #[test]
    fn no_baseline_or_no_actual_is_no_data() {
        // No baseline: nothing to reduce from.
        let p = progress(&[0.0; 12], 10.0, &months(&[90.0]), 2, 0.0);
        assert_eq!((p.status, p.forecast), (Status::NoData, None));
        // No actual yet.
        let p = progress(&FLAT, 10.0, &[None; 12], 3, 0.5);
        assert_eq!(p.status, Status::NoData);
        assert!(close(p.target, 1080.0));
        // 2 January: a figure, but under a tenth of the only month.
        let p = progress(&FLAT, 10.0, &months(&[4.0]), 1, 0.05);
        assert_eq!(p.status, Status::NoData);
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
    }

    // ---- anomalies --------------------------------------------------------------------------

    const H: i64 = HOUR_MS;
    /// 2024-01-08 00:00 local (Monday) = 2024-01-07 16:00 UTC. Day 19730 since 1970-01-01.
    const MONDAY: i64 = 19_730 * DAY_MS - 8 * H;

    /// An office: weekdays 08:00–17:59 local draw 50 kWh an hour, every other hour 10.
    fn office(ms: i64) -> f64 {
        let how = hour_of_week(ms);
        let (day, hour) = (how / 24, how % 24);
        if day < 5 && (8..18).contains(&hour) {
            50.0
        } else {
            10.0
        }
    }

    /// `weeks` weeks of hourly figures from MONDAY.
    fn series(weeks: i64, value: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..weeks * 168)
            .map(|i| MONDAY + i * H)
            .map(|h| (h, value(h)))
            .collect()
    }

    /// The hour `hour` (local) of day `day` (0 = Monday) of week `week` (0 = first).
    fn at(week: i64, day: i64, hour: i64) -> i64 {
        MONDAY + week * WEEK_MS + day * DAY_MS + hour * H
    }

    #[test]
    fn hour_of_week_follows_the_shanghai_clock() {
        assert_eq!(hour_of_week(MONDAY), 0);
        assert_eq!(hour_of_week(MONDAY + 167 * H), 167);
        assert_eq!(hour_of_week(MONDAY + 168 * H), 0);
        // 1970-01-01 00:00 UTC was Thursday 08:00 in Shanghai: 3 × 24 + 8 = 80.
        assert_eq!(hour_of_week(0), 80);
        // A millisecond earlier is still Thursday, 07:00–07:59 (negative instants too).
        assert_eq!(hour_of_week(-1), 79);
        // 2024-01-07 16:00 UTC is a Sunday afternoon in UTC but Monday 00:00 in Shanghai;
        // 15:00 UTC is Sunday 23:00 local.
        assert_eq!(hour_of_week(MONDAY - H), 167);
    }

    #[test]
    fn a_clean_weekly_pattern_gives_nothing() {
        let s = series(5, office);
        assert!(detect(&s, at(4, 0, 0), &Thresholds::default()).is_empty());
        // Examining every hour: the first weeks lack history, the later ones match it.
        assert!(detect(&s, MONDAY, &Thresholds::default()).is_empty());
    }

    #[test]
    fn an_injected_spike_is_found_at_its_hour() {
        // Week 5, Wednesday 14:00 local draws 200 instead of 50. Baseline: 50 in each of the
        // four weeks before → median 50, MAD 0; limit 50 + max(0, 25) = 75 → 200 is a spike.
        let spike = at(4, 2, 14);
        let s = series(5, |h| if h == spike { 200.0 } else { office(h) });
        let found = detect(&s, at(4, 0, 0), &Thresholds::default());
        assert_eq!(
            found,
            vec![Anomaly {
                kind: AnomalyKind::Spike,
                hour: spike,
                observed: 200.0,
                expected: 50.0
            }]
        );
        // Wednesday 14:00 in Shanghai is 06:00 UTC.
        assert_eq!(spike.rem_euclid(DAY_MS), 6 * H);
    }

    #[test]
    fn the_expected_value_is_the_median_of_the_four_weeks_before() {
        // Wednesday 14:00 in the six weeks: 900 (too old: five weeks back), then 48, 55, 50,
        // 52, and 120 in the examined week. The four earlier: 48, 55, 50, 52 → median
        // (50 + 52)/2 = 51; deviations 3, 4, 1, 1 → MAD (1 + 3)/2 = 2; limit 51 + max(12,
        // 25.5) = 76.5 → 120 is a spike, expected 51.
        let values = [900.0, 48.0, 55.0, 50.0, 52.0, 120.0];
        let s = series(6, |h| {
            if hour_of_week(h) == 2 * 24 + 14 {
                values[((h - MONDAY) / WEEK_MS) as usize]
            } else {
                office(h)
            }
        });
        let found = detect(&s, at(5, 0, 0), &Thresholds::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].hour, found[0].expected), (at(5, 2, 14), 51.0));
        // 75 (under 76.5) would pass unreported: a 47 % rise is within the limit.
        let s = series(6, |h| {
            if h == at(5, 2, 14) {
                75.0
            } else if hour_of_week(h) == 2 * 24 + 14 {
                values[((h - MONDAY) / WEEK_MS) as usize]
            } else {
                office(h)
            }
        });
        assert!(detect(&s, at(5, 0, 0), &Thresholds::default()).is_empty());
    }

    #[test]
    fn small_noise_gives_nothing() {
        // The office pattern ± up to 10 % from a fixed pseudo-random sequence. Spike limits
        // are at least 1.5 × the median (≥ 13.5 at night against at most 11; ≥ 67.5 by day
        // against at most 55); nights vary by under 10 % against a limit of 50 %.
        let noisy = |h: i64| {
            let mut x = (h / H) as u64;
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 33) as f64 / (1u64 << 31) as f64; // 0..1
            office(h) * (0.9 + 0.2 * u)
        };
        let s = series(5, noisy);
        assert!(detect(&s, at(4, 0, 0), &Thresholds::default()).is_empty());
        // Below the absolute floor nothing is reported even if relatively large: a load of
        // 0.1 jumping to 0.9.
        let tiny = series(5, |h| if h == at(4, 3, 12) { 0.9 } else { 0.1 });
        assert!(detect(&tiny, at(4, 0, 0), &Thresholds::default()).is_empty());
    }

    #[test]
    fn a_night_with_doubled_base_load_is_reported_once() {
        // Week 5, Thursday 00:00–05:59 local draws 20 an hour instead of 10. Night mean 20,
        // usual night (median of four Thursday nights at 10) 10; limit 1.5 × 10 = 15;
        // 20 − 10 > floor 1 → one NightBase at Thursday 00:00 local (Wednesday 16:00 UTC).
        // Each hour alone would be a spike (20 > 10 + max(0, 5)), but the raised night
        // explains them: no spike reports.
        let night = at(4, 3, 0);
        let s = series(5, |h| {
            if (night..night + 6 * H).contains(&h) {
                20.0
            } else {
                office(h)
            }
        });
        let found = detect(&s, at(4, 0, 0), &Thresholds::default());
        assert_eq!(
            found,
            vec![Anomaly {
                kind: AnomalyKind::NightBase,
                hour: night,
                observed: 20.0,
                expected: 10.0
            }]
        );
        assert_eq!(night.rem_euclid(DAY_MS), 16 * H);
        // Examined from 03:00 only, the night is still judged (and reported at 00:00).
        let found = detect(&s, night + 3 * H, &Thresholds::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].hour, night);
    }

    #[test]
    fn a_single_busy_night_hour_is_a_spike_not_a_raised_night() {
        // Thursday 03:00 draws 100: the night mean is (5 × 10 + 100)/6 = 25 > 15, but
        // without its peak hour it is 10, so the night is not raised; the hour is a spike.
        // Another hour of 100 in a doubled night stands out from the night's own level
        // (100 > 1.5 × 33.3) and is reported besides the night.
        let h3 = at(4, 3, 3);
        let s = series(5, |h| if h == h3 { 100.0 } else { office(h) });
        let found = detect(&s, at(4, 0, 0), &Thresholds::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].kind, found[0].hour), (AnomalyKind::Spike, h3));

        let night = at(4, 3, 0);
        let s = series(5, |h| {
            if h == h3 {
                100.0
            } else if (night..night + 6 * H).contains(&h) {
                20.0
            } else {
                office(h)
            }
        });
        let found = detect(&s, at(4, 0, 0), &Thresholds::default());
        let kinds: Vec<_> = found.iter().map(|a| (a.kind, a.hour)).collect();
        assert_eq!(
            kinds,
            vec![(AnomalyKind::NightBase, night), (AnomalyKind::Spike, h3)]
        );
        // Night mean (5 × 20 + 100)/6 = 33.33.
        assert!(close(found[0].observed, 200.0 / 6.0));
    }

    #[test]
    fn too_little_history_gives_no_verdict() {
        // Three weeks: the examined third week has two earlier values per hour, fewer than 3.
        let spike = at(2, 2, 14);
        let night = at(2, 3, 0);
        let value = |h: i64| {
            if h == spike {
                200.0
            } else if (night..night + 6 * H).contains(&h) {
                20.0
            } else {
                office(h)
            }
        };
        let s = series(3, value);
        assert!(detect(&s, at(2, 0, 0), &Thresholds::default()).is_empty());
        // A missing week counts too: five weeks with weeks 2 and 3 absent leave two.
        let gappy: Vec<_> = series(5, |h| if h == at(4, 2, 14) { 200.0 } else { office(h) })
            .into_iter()
            .filter(|&(h, _)| !(at(1, 0, 0)..at(3, 0, 0)).contains(&h))
            .collect();
        assert!(detect(&gappy, at(4, 0, 0), &Thresholds::default()).is_empty());
        // Four weeks (three earlier) are enough.
        let s = series(4, |h| if h == at(3, 2, 14) { 200.0 } else { office(h) });
        assert_eq!(detect(&s, at(3, 0, 0), &Thresholds::default()).len(), 1);
    }

    #[test]
    fn a_night_is_the_shanghai_night_not_the_utc_one() {
        // Doubled load over 00:00–05:59 UTC is 08:00–13:59 in Shanghai: day hours, not a
        // night. On a Saturday, when the office draws 10 all day, the six hours at 20 are
        // six spikes (20 > 10 + max(0, 5)) and no NightBase.
        let utc_night = at(4, 5, 8); // Saturday 08:00 local = Saturday 00:00 UTC
        assert_eq!(utc_night.rem_euclid(DAY_MS), 0);
        let s = series(5, |h| {
            if (utc_night..utc_night + 6 * H).contains(&h) {
                20.0
            } else {
                office(h)
            }
        });
        let found = detect(&s, at(4, 0, 0), &Thresholds::default());
        assert_eq!(found.len(), 6);
        assert!(found.iter().all(|a| a.kind == AnomalyKind::Spike));
        assert_eq!(found[0].hour, utc_night);
    }

    #[test]
    fn anomaly_kind_codes_match_the_schema() {
        assert_eq!(AnomalyKind::Spike.code(), "spike");
        assert_eq!(AnomalyKind::NightBase.code(), "night_base");
        for k in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::from_code(k.code()), Some(k));
        }
    }

    // ---- coal equivalent --------------------------------------------------------------------

    #[test]
    fn coal_equivalents() {
        assert_eq!(kgce_per_unit("electricity"), Some(0.1229));
        assert_eq!(kgce_per_unit("heat"), Some(34.12));
        assert_eq!(kgce_per_unit("gas"), Some(1.2143));
        assert_eq!(kgce_per_unit("water"), None);
        assert_eq!(kgce_per_unit("steam"), None);
        // A month of a school: 100 000 kWh + 500 GJ + 2 000 m³ gas
        // = 12 290 + 17 060 + 2 428.6 kgce = 31 778.6 kgce = 31.7786 tce.
        let total: f64 = [
            ("electricity", 100_000.0),
            ("heat", 500.0),
            ("gas", 2_000.0),
        ]
        .iter()
        .map(|(t, a)| tce(t, *a).unwrap())
        .sum();
        assert!(close(total, 31.7786));
        assert_eq!(tce("water", 10.0), None);
    }
}
