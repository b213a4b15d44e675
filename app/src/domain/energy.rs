//! Energy vocabulary and the rollup arithmetic as pure code: energy types and units, entity
//! kinds, the Asia/Shanghai buckets (hour, local day, month) and the differences a batch of
//! readings makes to every rollup. The ingest asks `Rollup::add` for each reading it created
//! or corrected and writes the sums; nothing else decides what a rollup holds.
//!
//! Shanghai keeps UTC+8 all year (no daylight saving since 1991), so buckets are plain
//! arithmetic on UTC milliseconds: an hour starts at the same instant in UTC and in UTC+8; a
//! local day starts at 16:00 UTC the day before.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// Asia/Shanghai's offset from UTC.
pub const OFFSET_MS: i64 = 8 * HOUR_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyType {
    Electricity,
    Heat,
    Water,
    Gas,
}

impl EnergyType {
    pub const ALL: [EnergyType; 4] = [
        EnergyType::Electricity,
        EnergyType::Heat,
        EnergyType::Water,
        EnergyType::Gas,
    ];
    pub fn code(self) -> &'static str {
        match self {
            EnergyType::Electricity => "electricity",
            EnergyType::Heat => "heat",
            EnergyType::Water => "water",
            EnergyType::Gas => "gas",
        }
    }
    pub fn from_code(c: &str) -> Option<EnergyType> {
        EnergyType::ALL.into_iter().find(|t| t.code() == c)
    }
    /// Unit of readings and rollups (the same in both languages).
    pub fn unit(self) -> &'static str {
        match self {
            EnergyType::Electricity => "kWh",
            EnergyType::Heat => "GJ",
            EnergyType::Water | EnergyType::Gas => "m³",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    District,
    PublicBuilding,
    Enterprise,
    StreetLight,
    PumpingStation,
    HeatingStation,
}

impl EntityKind {
    pub const ALL: [EntityKind; 6] = [
        EntityKind::District,
        EntityKind::PublicBuilding,
        EntityKind::Enterprise,
        EntityKind::StreetLight,
        EntityKind::PumpingStation,
        EntityKind::HeatingStation,
    ];
    pub fn code(self) -> &'static str {
        match self {
            EntityKind::District => "district",
            EntityKind::PublicBuilding => "public_building",
            EntityKind::Enterprise => "enterprise",
            EntityKind::StreetLight => "street_light",
            EntityKind::PumpingStation => "pumping_station",
            EntityKind::HeatingStation => "heating_station",
        }
    }
    pub fn from_code(c: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.code() == c)
    }
}

/// Start of the hour holding `ms`.
pub fn hour_start(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// Local (Shanghai) day number: days since 1970-01-01 in Shanghai.
pub fn local_day(ms: i64) -> i64 {
    (ms + OFFSET_MS).div_euclid(DAY_MS)
}

/// The instant local day `day` begins (00:00 in Shanghai).
pub fn day_start(day: i64) -> i64 {
    day * DAY_MS - OFFSET_MS
}

/// Local hour of the day, 0–23.
pub fn local_hour(ms: i64) -> u32 {
    ((ms + OFFSET_MS).div_euclid(HOUR_MS)).rem_euclid(24) as u32
}

/// (year, month 1–12, day 1–31) of a day number (proleptic Gregorian; H. Hinnant's
/// `civil_from_days`).
pub fn civil(day: i64) -> (i32, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Day number of a civil date (inverse of `civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Month key yyyymm of a local day.
pub fn month_of_day(day: i64) -> i64 {
    let (y, m, _) = civil(day);
    i64::from(y) * 100 + i64::from(m)
}

/// First local day of month `yyyymm`.
pub fn month_first_day(month: i64) -> i64 {
    days_from_civil((month / 100) as i32, (month % 100) as u32, 1)
}

/// What the rollups need to know about a meter.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterInfo {
    pub id: i64,
    pub entity_id: i64,
    pub district_code: String,
    pub energy_type: EnergyType,
    /// A sub-meter's consumption is already in its parent's: it has its own meter rollup but
    /// adds nothing to entity, district or city totals.
    pub is_sub_meter: bool,
}

/// One rollup change: consumption and carbon to add to a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Delta {
    pub value: f64,
    pub carbon_kg: f64,
}

impl Delta {
    fn add(&mut self, value: f64, carbon_kg: f64) {
        self.value += value;
        self.carbon_kg += carbon_kg;
    }
}

/// The differences a batch makes to every rollup, keyed and ordered (writers take row locks
/// in key order, so concurrent batches never wait on each other in a circle).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rollup {
    pub meter_day: BTreeMap<(i64, i64), f64>,
    pub entity_hour: BTreeMap<(i64, EnergyType, i64), f64>,
    pub entity_day: BTreeMap<(i64, EnergyType, i64), Delta>,
    pub entity_month: BTreeMap<(i64, EnergyType, i64), Delta>,
    pub district_hour: BTreeMap<(String, EnergyType, i64), f64>,
    pub district_day: BTreeMap<(String, EnergyType, i64), Delta>,
    pub district_month: BTreeMap<(String, EnergyType, i64), Delta>,
}

impl Rollup {
    /// Adds `delta` consumed in the interval starting at `ts` on `meter`: the whole value of a
    /// new reading, or new − old of a corrected one. `kg_per_unit` is the emission factor in
    /// force for the reading's year and the meter's type (0 when none is known).
    pub fn add(&mut self, meter: &MeterInfo, ts: i64, delta: f64, kg_per_unit: f64) {
        let day = local_day(ts);
        *self.meter_day.entry((meter.id, day)).or_default() += delta;
        if meter.is_sub_meter {
            return;
        }
        let hour = hour_start(ts);
        let month = month_of_day(day);
        let t = meter.energy_type;
        let carbon = delta * kg_per_unit;
        *self
            .entity_hour
            .entry((meter.entity_id, t, hour))
            .or_default() += delta;
        self.entity_day
            .entry((meter.entity_id, t, day))
            .or_default()
            .add(delta, carbon);
        self.entity_month
            .entry((meter.entity_id, t, month))
            .or_default()
            .add(delta, carbon);
        let d = meter.district_code.clone();
        *self.district_hour.entry((d.clone(), t, hour)).or_default() += delta;
        self.district_day
            .entry((d.clone(), t, day))
            .or_default()
            .add(delta, carbon);
        self.district_month
            .entry((d, t, month))
            .or_default()
            .add(delta, carbon);
    }

    pub fn is_empty(&self) -> bool {
        self.meter_day.is_empty()
    }

    /// Adds `other`'s differences to these (two batches' rollups as one).
    pub fn merge(&mut self, other: &Rollup) {
        fn sum<K: Ord + Clone>(a: &mut BTreeMap<K, f64>, b: &BTreeMap<K, f64>) {
            for (k, v) in b {
                *a.entry(k.clone()).or_default() += v;
            }
        }
        fn sum_delta<K: Ord + Clone>(a: &mut BTreeMap<K, Delta>, b: &BTreeMap<K, Delta>) {
            for (k, d) in b {
                a.entry(k.clone()).or_default().add(d.value, d.carbon_kg);
            }
        }
        sum(&mut self.meter_day, &other.meter_day);
        sum(&mut self.entity_hour, &other.entity_hour);
        sum_delta(&mut self.entity_day, &other.entity_day);
        sum_delta(&mut self.entity_month, &other.entity_month);
        sum(&mut self.district_hour, &other.district_hour);
        sum_delta(&mut self.district_day, &other.district_day);
        sum_delta(&mut self.district_month, &other.district_month);
    }
}

/// What storing one reading does, given the value stored before for its (meter, interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// New: the rollups gain its value.
    Created,
    /// Sent again with the same value: nothing changes.
    Unchanged,
    /// Sent again with another value: the reading is replaced and the rollups move by
    /// the difference.
    Corrected { old: f64 },
}

/// Values closer than this (in the meter's unit) are the same reading sent again: meter
/// gateways round differently (12.5 vs 12.500000001).
pub const SAME_VALUE: f64 = 1e-9;

pub fn outcome(stored: Option<f64>, value: f64) -> Outcome {
    match stored {
        None => Outcome::Created,
        Some(old) if (old - value).abs() <= SAME_VALUE * old.abs().max(1.0) => Outcome::Unchanged,
        Some(old) => Outcome::Corrected { old },
    }
}

/// The rollup difference of an outcome.
pub fn delta_of(outcome: Outcome, value: f64) -> f64 {
    match outcome {
        Outcome::Created => value,
        Outcome::Unchanged => 0.0,
        Outcome::Corrected { old } => value - old,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i32, m: u32, d: u32, h: i64) -> i64 {
        // Local Shanghai time to UTC ms.
        day_start(days_from_civil(y, m, d)) + h * HOUR_MS
    }

    fn meter(id: i64, entity: i64, district: &str, sub: bool) -> MeterInfo {
        MeterInfo {
            id,
            entity_id: entity,
            district_code: district.into(),
            energy_type: EnergyType::Electricity,
            is_sub_meter: sub,
        }
    }

    #[test]
    fn codes_round_trip() {
        for t in EnergyType::ALL {
            assert_eq!(EnergyType::from_code(t.code()), Some(t));
        }
        for k in EntityKind::ALL {
            assert_eq!(EntityKind::from_code(k.code()), Some(k));
        }
        assert_eq!(EnergyType::from_code("steam"), None);
        assert_eq!(EnergyType::Heat.unit(), "GJ");
    }

    #[test]
    fn shanghai_buckets() {
        // 2026-01-01 00:00 in Shanghai is 2025-12-31 16:00 UTC = 1767196800000 ms.
        let midnight = ms(2026, 1, 1, 0);
        assert_eq!(midnight, 1_767_196_800_000);
        assert_eq!(civil(local_day(midnight)), (2026, 1, 1));
        // One millisecond before is still 2025-12-31, local hour 23.
        assert_eq!(civil(local_day(midnight - 1)), (2025, 12, 31));
        assert_eq!(local_hour(midnight - 1), 23);
        assert_eq!(local_hour(midnight), 0);
        assert_eq!(month_of_day(local_day(midnight - 1)), 202512);
        assert_eq!(month_of_day(local_day(midnight)), 202601);
        // 16:00 UTC on 2026-03-01 is already 2 March in Shanghai.
        assert_eq!(civil(local_day(ms(2026, 3, 2, 0))), (2026, 3, 2));
        // Hours agree in UTC and UTC+8.
        assert_eq!(hour_start(midnight + 59 * 60_000), midnight);
        // Leap day and round trips.
        assert_eq!(civil(days_from_civil(2028, 2, 29)), (2028, 2, 29));
        for d in -800..40_000 {
            let (y, m, dd) = civil(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(month_first_day(202603), days_from_civil(2026, 3, 1));
        assert_eq!(civil(0), (1970, 1, 1));
    }

    #[test]
    fn a_reading_lands_in_every_bucket_once() {
        let m = meter(7, 70, "xiaodian", false);
        let mut r = Rollup::default();
        // 23:00 local on 31 Jan 2026: day 31 Jan, month 202601.
        let ts = ms(2026, 1, 31, 23);
        r.add(&m, ts, 10.0, 0.5);
        let day = days_from_civil(2026, 1, 31);
        assert_eq!(r.meter_day[&(7, day)], 10.0);
        assert_eq!(r.entity_hour[&(70, EnergyType::Electricity, ts)], 10.0);
        assert_eq!(
            r.entity_day[&(70, EnergyType::Electricity, day)],
            Delta {
                value: 10.0,
                carbon_kg: 5.0
            }
        );
        assert_eq!(
            r.district_month[&("xiaodian".to_string(), EnergyType::Electricity, 202601)],
            Delta {
                value: 10.0,
                carbon_kg: 5.0
            }
        );
        // The next hour is February.
        r.add(&m, ts + HOUR_MS, 4.0, 0.5);
        assert_eq!(
            r.district_month[&("xiaodian".to_string(), EnergyType::Electricity, 202602)].value,
            4.0
        );
        assert_eq!(r.district_month.len(), 2);
    }

    #[test]
    fn sub_meters_roll_up_without_double_counting() {
        // A building's main meter reads 100; two sub-meters under it read 30 and 50.
        let main = meter(1, 10, "yingze", false);
        let sub_a = meter(2, 10, "yingze", true);
        let sub_b = meter(3, 10, "yingze", true);
        let ts = ms(2026, 5, 4, 9);
        let day = local_day(ts);
        let mut r = Rollup::default();
        r.add(&main, ts, 100.0, 0.0);
        r.add(&sub_a, ts, 30.0, 0.0);
        r.add(&sub_b, ts, 50.0, 0.0);
        // Each meter keeps its own total...
        assert_eq!(r.meter_day[&(1, day)], 100.0);
        assert_eq!(r.meter_day[&(2, day)], 30.0);
        assert_eq!(r.meter_day[&(3, day)], 50.0);
        // ...but the entity and district count the main meter only: 100, not 180.
        assert_eq!(
            r.entity_day[&(10, EnergyType::Electricity, day)].value,
            100.0
        );
        assert_eq!(
            r.district_hour[&("yingze".to_string(), EnergyType::Electricity, ts)],
            100.0
        );
    }

    #[test]
    fn merged_rollups_equal_one_rollup_of_all_rows() {
        // Two batches of one live feed: the same meters, consecutive hours of one day, and
        // a sub-meter; merged, they must equal one rollup of every reading.
        let a = meter(1, 10, "yingze", false);
        let b = meter(2, 11, "xiaodian", false);
        let sub = meter(3, 10, "yingze", true);
        let rows = [
            (&a, ms(2026, 3, 2, 8), 4.0),
            (&b, ms(2026, 3, 2, 8), 6.0),
            (&sub, ms(2026, 3, 2, 8), 1.5),
            (&a, ms(2026, 3, 2, 9), 5.0),
            (&b, ms(2026, 3, 2, 9), 7.0),
            (&a, ms(2026, 3, 3, 0), 2.0),
        ];
        let mut all = Rollup::default();
        let (mut first, mut second) = (Rollup::default(), Rollup::default());
        for (i, (m, ts, v)) in rows.iter().enumerate() {
            all.add(m, *ts, *v, 0.5);
            if i < 3 { &mut first } else { &mut second }.add(m, *ts, *v, 0.5);
        }
        first.merge(&second);
        assert_eq!(first, all);
        // Shared rows hold both batches' sums: meter 1's day 4 + 5, the district's day.
        let day = local_day(ms(2026, 3, 2, 8));
        assert_eq!(first.meter_day[&(1, day)], 9.0);
        let yd = first.district_day[&("yingze".to_string(), EnergyType::Electricity, day)];
        assert_eq!((yd.value, yd.carbon_kg), (9.0, 4.5));
        // Merging an empty rollup changes nothing.
        first.merge(&Rollup::default());
        assert_eq!(first, all);
    }

    #[test]
    fn late_and_corrected_readings_move_rollups_by_their_difference() {
        let m = meter(1, 10, "xiaodian", false);
        let day = days_from_civil(2026, 6, 1);
        let h8 = ms(2026, 6, 1, 8);
        let h9 = ms(2026, 6, 1, 9);
        // Batch 1: 08:00 = 5, 09:00 = 7 → day 12.
        let mut total = 0.0;
        for (ts, v, stored) in [(h8, 5.0, None), (h9, 7.0, None)] {
            let mut r = Rollup::default();
            r.add(&m, ts, delta_of(outcome(stored, v), v), 0.0);
            total += r.meter_day[&(1, day)];
        }
        assert_eq!(total, 12.0);
        // A late reading for 03:00 (= 2) arrives a day later: day 14.
        let late = outcome(None, 2.0);
        assert_eq!(late, Outcome::Created);
        total += delta_of(late, 2.0);
        assert_eq!(total, 14.0);
        // 09:00 is corrected from 7 to 6.5: day 13.5, and a correction records the old value.
        let corr = outcome(Some(7.0), 6.5);
        assert_eq!(corr, Outcome::Corrected { old: 7.0 });
        total += delta_of(corr, 6.5);
        assert_eq!(total, 13.5);
        // The same correction sent again changes nothing.
        let again = outcome(Some(6.5), 6.5);
        assert_eq!(again, Outcome::Unchanged);
        assert_eq!(delta_of(again, 6.5), 0.0);
        // Rounding noise of a gateway is the same value.
        assert_eq!(outcome(Some(12.5), 12.500_000_000_001), Outcome::Unchanged);
        // A correction to zero takes the whole value out.
        assert_eq!(delta_of(outcome(Some(6.5), 0.0), 0.0), -6.5);
    }

    #[test]
    fn carbon_follows_the_factor_given() {
        let m = meter(1, 10, "xiaodian", false);
        let ts = ms(2026, 2, 1, 12);
        let mut r = Rollup::default();
        // 1,000 kWh at 0.5703 kg/kWh = 570.3 kg.
        r.add(&m, ts, 1000.0, 0.5703);
        let d = r.entity_month[&(10, EnergyType::Electricity, 202602)];
        assert!((d.carbon_kg - 570.3).abs() < 1e-9);
        // A correction of −100 kWh takes 57.03 kg out.
        r.add(&m, ts, -100.0, 0.5703);
        let d = r.entity_month[&(10, EnergyType::Electricity, 202602)];
        assert!((d.value - 900.0).abs() < 1e-9 && (d.carbon_kg - 513.27).abs() < 1e-9);
        // Sub-meters add no carbon to totals.
        let sub = meter(2, 10, "xiaodian", true);
        r.add(&sub, ts, 50.0, 0.5703);
        assert!(
            (r.entity_month[&(10, EnergyType::Electricity, 202602)].carbon_kg - 513.27).abs()
                < 1e-9
        );
    }
}
