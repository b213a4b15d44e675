//! Energy reference data (the owning department and grid region settings, emission factors
//! with their sources) and demo data: consumers over Taiyuan's ten districts, their meters
//! (some sub-meters under a building's main meter) and interval readings shaped like real
//! loads, stored through the readings ingest (`energy_ingest::store_in`) so every rollup is
//! exactly what the ingest keeps.
//!
//! The demo is deterministic for a given `now` (a seeded `StdRng`). In the last two weeks it
//! holds a few injected anomalies for the anomaly list: a night with doubled base load at the
//! first public building ([`NIGHT_BASE_ENTITY`]) and spikes there and at the first enterprise
//! ([`SPIKE_ENTITIES`]).
use super::energy_ingest::{self, ReadingRow, OWNER_SETTING, REGION_SETTING};
use super::{now_ms, Store};
use crate::domain::energy::{
    civil, day_start, days_from_civil, hour_start, local_day, EnergyType, EntityKind, MeterInfo,
    DAY_MS, HOUR_MS,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// Grid region of Taiyuan's emission factors (North China grid); where the region has no
/// factor of its own the national one applies (`domain::energy_rules::pick_factor`).
pub const DEFAULT_REGION: &str = "north_china";
/// The Development and Reform Commission's energy office owns the city's energy data.
pub const DEFAULT_OWNER: &str = "ndrc";

/// Emission factors on file at first start: (year, region, energy type, kg CO₂ per unit,
/// source). A factor applies to its year and, until a newer one is entered, to later years.
pub const FACTORS: &[(i64, &str, &str, f64, &str)] = &[
    (
        2021,
        "national",
        "electricity",
        0.5810,
        "生态环境部 2022 年发布的全国电网平均排放因子 0.5810 tCO2/MWh（用于 2021 年度排放核算）/ \
         MEE national grid average emission factor published in 2022 (for 2021 emissions), 0.5810 tCO2/MWh",
    ),
    (
        2022,
        "national",
        "electricity",
        0.5703,
        "生态环境部公布的 2022 年度全国电网平均排放因子 0.5703 tCO2/MWh / \
         MEE announcement of the 2022 national grid average emission factor, 0.5703 tCO2/MWh",
    ),
    (
        2015,
        "national",
        "heat",
        110.0,
        "外购热力排放因子缺省值 0.11 tCO2/GJ（GB/T 32151 系列及国家发展改革委企业温室气体排放核算方法与报告指南，燃煤供热）/ \
         default factor for purchased heat, 0.11 tCO2/GJ (GB/T 32151 series and the NDRC enterprise GHG accounting guidelines, coal-fired heat)",
    ),
    (
        2015,
        "national",
        "gas",
        2.162,
        "由国家发展改革委温室气体核算指南缺省值计算（与 IPCC 2006 同口径）：低位发热量 389.31 GJ/万 m³ × 单位热值含碳量 15.3 tC/TJ × 碳氧化率 99% × 44/12 ≈ 2.162 kg/m³ / \
         computed from NDRC GHG accounting guideline defaults (as IPCC 2006): 389.31 GJ per 10,000 m³ × 15.3 tC/TJ × 99 % oxidation × 44/12 ≈ 2.162 kg/m³",
    ),
    (
        2022,
        "national",
        "water",
        0.23,
        "估算值，并非官方发布的因子：城市供水取水、净化和加压输送电耗约 0.4 kWh/m³ × 2022 年度全国电网平均排放因子 0.5703 kg/kWh ≈ 0.23 kg/m³ / \
         estimate, not a published factor: about 0.4 kWh/m³ to abstract, treat and pump urban water × the 2022 national grid average 0.5703 kg/kWh ≈ 0.23 kg/m³",
    ),
];

/// Writes the energy settings (owner department, grid region) when absent and the emission
/// factors when none exist. Runs at every start; changes nothing once written.
pub async fn reference(store: &Store) -> sqlx::Result<()> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    for (key, value) in [
        (OWNER_SETTING, DEFAULT_OWNER),
        (REGION_SETTING, DEFAULT_REGION),
    ] {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    }
    let owner: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
        .bind(DEFAULT_OWNER)
        .fetch_optional(&mut *tx)
        .await?;
    if owner.is_none() {
        if let Some((c, zh, en)) = super::seed::DEPARTMENTS
            .iter()
            .find(|d| d.0 == DEFAULT_OWNER)
        {
            super::departments::insert(&mut tx, c, zh, en).await?;
        }
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM emission_factors")
        .fetch_one(&mut *tx)
        .await?;
    if n == 0 {
        for (year, region, ty, kg, source) in FACTORS {
            sqlx::query(
                "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(*year)
            .bind(*region)
            .bind(*ty)
            .bind(*kg)
            .bind(*source)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

/// Taiyuan's ten county-level divisions: admin code (as in `grids`), names, and the weight of
/// each in the demo (the urban districts hold most consumers).
pub const DISTRICTS: &[(&str, &str, &str, u32)] = &[
    ("140105", "小店区", "Xiaodian District", 20),
    ("140106", "迎泽区", "Yingze District", 14),
    ("140107", "杏花岭区", "Xinghualing District", 14),
    ("140108", "尖草坪区", "Jiancaoping District", 10),
    ("140109", "万柏林区", "Wanbailin District", 14),
    ("140110", "晋源区", "Jinyuan District", 8),
    ("140121", "清徐县", "Qingxu County", 6),
    ("140122", "阳曲县", "Yangqu County", 4),
    ("140123", "娄烦县", "Loufan County", 3),
    ("140181", "古交市", "Gujiao City", 5),
];

/// Places (subdistricts, towns) of the divisions outside the grids (zh, en).
const COUNTY_PLACES: &[(&str, &[(&str, &str)])] = &[
    (
        "140121",
        &[("清源镇", "Qingyuan Town"), ("徐沟镇", "Xugou Town")],
    ),
    (
        "140122",
        &[("黄寨镇", "Huangzhai Town"), ("大盂镇", "Dayu Town")],
    ),
    (
        "140123",
        &[("娄烦镇", "Loufan Town"), ("静游镇", "Jingyou Town")],
    ),
    (
        "140181",
        &[
            ("东曲街道", "Dongqu Subdistrict"),
            ("桃园街道", "Taoyuan Subdistrict"),
        ],
    ),
];

/// Lit roads of the urban districts (zh, en).
const ROADS: &[(&str, &[(&str, &str)])] = &[
    (
        "140105",
        &[
            ("长风街", "Changfeng Street"),
            ("体育路", "Tiyu Road"),
            ("平阳路", "Pingyang Road"),
            ("学府街", "Xuefu Street"),
            ("龙城大街", "Longcheng Street"),
        ],
    ),
    (
        "140106",
        &[
            ("迎泽大街", "Yingze Street"),
            ("南内环街", "Nanneihuan Street"),
            ("建设南路", "Jianshe South Road"),
            ("双塔西街", "Shuangta West Street"),
        ],
    ),
    (
        "140107",
        &[
            ("府西街", "Fuxi Street"),
            ("解放路", "Jiefang Road"),
            ("胜利街", "Shengli Street"),
            ("五一路", "Wuyi Road"),
        ],
    ),
    (
        "140108",
        &[
            ("新兰路", "Xinlan Road"),
            ("和平北路", "Heping North Road"),
            ("迎新街", "Yingxin Street"),
        ],
    ),
    (
        "140109",
        &[
            ("千峰南路", "Qianfeng South Road"),
            ("和平南路", "Heping South Road"),
            ("兴华街", "Xinghua Street"),
            ("长风西街", "Changfeng West Street"),
        ],
    ),
    (
        "140110",
        &[
            ("晋祠路", "Jinci Road"),
            ("滨河西路", "Binhe West Road"),
            ("新晋祠路", "New Jinci Road"),
        ],
    ),
];

/// Parks whose landscape lighting the landscaping bureau runs (zh, en).
const PARKS: &[(&str, (&str, &str))] = &[
    ("140105", ("汾河景区", "Fenhe Scenic Area")),
    ("140106", ("迎泽公园", "Yingze Park")),
    ("140107", ("龙潭公园", "Longtan Park")),
    ("140109", ("玉泉山公园", "Yuquanshan Park")),
    ("140110", ("晋阳湖公园", "Jinyang Lake Park")),
];

/// Enterprise names: brands and lines of business (zh, en, load shape).
const BRANDS: &[(&str, &str)] = &[
    ("晋阳", "Jinyang"),
    ("汾河", "Fenhe"),
    ("龙城", "Longcheng"),
    ("并州", "Bingzhou"),
    ("三晋", "Sanjin"),
    ("锦绣", "Jinxiu"),
    ("晋祠", "Jinci"),
    ("双塔", "Shuangta"),
    ("天龙", "Tianlong"),
    ("太行", "Taihang"),
    ("蒙山", "Mengshan"),
    ("崇善", "Chongshan"),
];
const TRADES: &[(&str, &str, Shape)] = &[
    (
        "精密机械有限公司",
        "Precision Machinery Co., Ltd.",
        Shape::Factory,
    ),
    ("数据中心", "Data Centre", Shape::DataCentre),
    ("食品有限公司", "Food Co., Ltd.", Shape::ColdChain),
    ("制药有限公司", "Pharmaceutical Co., Ltd.", Shape::Factory),
    (
        "冷链物流有限公司",
        "Cold Chain Logistics Co., Ltd.",
        Shape::ColdChain,
    ),
    ("新材料有限公司", "New Materials Co., Ltd.", Shape::Factory),
    ("纺织有限公司", "Textile Co., Ltd.", Shape::Factory),
    (
        "印刷包装有限公司",
        "Printing and Packaging Co., Ltd.",
        Shape::Factory,
    ),
];

/// Code of the public building whose night base load doubles one night in the last week.
pub const NIGHT_BASE_ENTITY: &str = "TY-PB-0001";
/// Codes of the entities with an injected spike of electricity in the last two weeks.
pub const SPIKE_ENTITIES: [&str; 2] = ["TY-PB-0001", "TY-EN-0001"];
/// Source of the demo readings.
pub const DEMO_SOURCE: &str = "demo";
/// Readings per `store_in` call (one transaction each).
const BATCH: usize = 20_000;

/// What the demo wrote.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EnergyDemo {
    pub entities: usize,
    pub meters: usize,
    pub readings: usize,
    pub ms: u64,
}

/// How a meter's consumption moves over the day, the week and the year.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Offices and service centres: weekday working hours.
    Office,
    /// Libraries, cultural and fitness centres: open daily 9–21 except Monday mornings.
    Venue,
    /// Common areas of a public housing estate: mornings and evenings.
    Estate,
    /// Manufacturing: two shifts on weekdays, a continuous process underneath.
    Factory,
    DataCentre,
    /// Food and cold-chain storage: round the clock, more in summer.
    ColdChain,
    /// Street lights: dusk to dawn, dimmed after 23:00.
    StreetLight,
    /// Park lighting: dusk to 22:00 (23:00 on weekends).
    ParkLight,
    /// Water pumping: morning and evening peaks.
    Pump,
    /// Heat exchange station: runs in the heating season only.
    HeatStation,
}

/// A demo meter's load model.
#[derive(Debug, Clone)]
struct Gen {
    ty: EnergyType,
    shape: Shape,
    /// Units per hour at full activity (heat: at 20 K below 18 °C).
    scale: f64,
    /// Share of `scale` drawn regardless of activity (electricity base load).
    base: f64,
    /// Extra share at full cooling load (electricity in summer).
    cooling: f64,
    /// Change per year (the level a year ago is 1 − trend).
    trend: f64,
    noise: f64,
    /// A sub-meter: the index of its parent among all meters and its share of the parent.
    parent: Option<usize>,
    share: f64,
    interval: i64,
}

struct NewMeter {
    suffix: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    sub_of: Option<usize>,
    gen: Gen,
}

struct NewEntity {
    code: String,
    name_zh: String,
    name_en: String,
    kind: EntityKind,
    district: usize,
    department: i64,
    grid: Option<i64>,
    area: Option<f64>,
    meters: Vec<NewMeter>,
}

/// One local day of the demo: weekday or holiday, temperature, daylight.
#[derive(Debug, Clone, Copy)]
struct Day {
    /// A working day (weekday, or a make-up working day; not a public holiday).
    work: bool,
    weekday: i64,
    /// Mean outdoor temperature, °C.
    temp: f64,
    heating: bool,
    /// Local sunrise and sunset, hours.
    sunrise: f64,
    sunset: f64,
}

/// Taiyuan's district heating season as modelled here: 15 November to 15 March.
fn heating_season(m: u32, d: u32) -> bool {
    matches!((m, d), (11, 15..) | (12, _) | (1, _) | (2, _) | (3, ..=15))
}

fn make_days(first: i64, last: i64, rng: &mut StdRng) -> Vec<Day> {
    let official = crate::domain::calendar::official_days();
    let special: HashMap<i64, crate::domain::calendar::DayKind> = official
        .into_iter()
        .map(|(d, k)| {
            use chrono::Datelike;
            (days_from_civil(d.year(), d.month(), d.day()), k)
        })
        .collect();
    let mut weather = 0.0;
    (first..=last)
        .map(|day| {
            let (y, m, d) = civil(day);
            let doy = (day - days_from_civil(y, 1, 1)) as f64;
            let weekday = (day + 3).rem_euclid(7);
            let work = match special.get(&day) {
                Some(crate::domain::calendar::DayKind::Holiday) => false,
                Some(crate::domain::calendar::DayKind::Workday) => true,
                None => weekday < 5,
            };
            // Taiyuan: about −5 °C in mid-January, 26 °C in mid-July; weather wanders around it.
            weather = 0.75 * weather + rng.random_range(-2.2..2.2);
            let temp =
                10.5 - 15.5 * (std::f64::consts::TAU * (doy - 15.0) / 365.25).cos() + weather;
            // Daylight at 37.87° N; solar noon about 12:30 local (112.55° E on UTC+8).
            let decl =
                23.44_f64.to_radians() * (std::f64::consts::TAU * (284.0 + doy) / 365.0).sin();
            let lat = 37.87_f64.to_radians();
            let w0 = (-lat.tan() * decl.tan())
                .clamp(-1.0, 1.0)
                .acos()
                .to_degrees();
            let half = w0 / 15.0;
            Day {
                work,
                weekday,
                temp,
                heating: heating_season(m, d),
                sunrise: 12.5 - half,
                sunset: 12.5 + half,
            }
        })
        .collect()
}

/// Activity 0–1 of a shape at local hour `h` (fractional for quarter hours).
fn activity(shape: Shape, day: &Day, h: f64) -> f64 {
    let hour = h as usize;
    match shape {
        Shape::Office => {
            if day.work {
                const W: [f64; 24] = [
                    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.9, 1.0, 1.0, 1.0, 0.75, 0.9, 1.0,
                    1.0, 1.0, 0.9, 0.5, 0.3, 0.15, 0.05, 0.0, 0.0,
                ];
                W[hour]
            } else if (9..17).contains(&hour) {
                0.12
            } else {
                0.0
            }
        }
        Shape::Venue => {
            if day.weekday == 0 && hour < 13 {
                0.05
            } else if (9..21).contains(&hour) {
                if day.work {
                    0.75
                } else {
                    1.0
                }
            } else if hour == 8 || hour == 21 {
                0.3
            } else {
                0.0
            }
        }
        Shape::Estate => {
            const E: [f64; 24] = [
                0.3, 0.25, 0.25, 0.25, 0.25, 0.3, 0.5, 0.8, 0.7, 0.5, 0.45, 0.5, 0.55, 0.45, 0.4,
                0.4, 0.45, 0.6, 0.85, 1.0, 1.0, 0.9, 0.65, 0.4,
            ];
            E[hour]
        }
        Shape::Factory => {
            let shift = (8..24).contains(&hour);
            match (day.work, day.weekday == 6, shift) {
                (true, _, true) => 1.0,
                (true, _, false) => 0.2,
                (false, false, true) => 0.55,
                _ => 0.15,
            }
        }
        Shape::DataCentre => 1.0,
        Shape::ColdChain => {
            if (8..20).contains(&hour) {
                1.0
            } else {
                0.8
            }
        }
        Shape::StreetLight | Shape::ParkLight => {
            let off = if shape == Shape::ParkLight {
                if day.work {
                    22.0
                } else {
                    23.0
                }
            } else {
                24.0
            };
            let lit = |a: f64, b: f64| (b.min(h + 1.0) - a.max(h)).max(0.0);
            let morning = if shape == Shape::StreetLight {
                lit(0.0, day.sunrise) * 0.6
            } else {
                0.0
            };
            let evening = if shape == Shape::StreetLight {
                lit(day.sunset, 23.0) + lit(day.sunset.max(23.0), 24.0) * 0.6
            } else {
                lit(day.sunset, off)
            };
            morning + evening
        }
        Shape::Pump => {
            const P: [f64; 24] = [
                0.45, 0.4, 0.4, 0.4, 0.42, 0.55, 0.85, 1.25, 1.3, 1.05, 0.95, 1.0, 1.05, 0.9, 0.85,
                0.85, 0.9, 1.0, 1.2, 1.25, 1.2, 1.05, 0.8, 0.6,
            ];
            P[hour]
        }
        Shape::HeatStation => {
            if day.heating {
                1.0
            } else {
                0.03
            }
        }
    }
}

/// The modelled consumption of a meter during the interval starting at `ts`, before noise.
fn model(g: &Gen, day: &Day, ts: i64, end: i64) -> f64 {
    let h = ((ts + 8 * HOUR_MS).rem_euclid(DAY_MS)) as f64 / HOUR_MS as f64;
    let years_ago = (end - ts) as f64 / (365.25 * DAY_MS as f64);
    let trend = 1.0 - g.trend * years_ago;
    let per_hour = match g.ty {
        EnergyType::Electricity => {
            let a = activity(g.shape, day, h);
            let cool = ((day.temp - 22.0) / 8.0).clamp(0.0, 1.0);
            let lights = matches!(g.shape, Shape::StreetLight | Shape::ParkLight);
            if lights {
                g.scale * a
            } else {
                g.scale * (g.base + (1.0 - g.base) * a) * (1.0 + g.cooling * cool * a.max(0.3))
            }
        }
        EnergyType::Heat => {
            if !day.heating {
                0.0
            } else {
                // Colder before dawn, milder in the afternoon; offices set back at night.
                let t = day.temp + 3.0 * (std::f64::consts::TAU * (h - 15.0) / 24.0).cos();
                let need = ((18.0 - t) / 20.0).max(0.05);
                let setback = match g.shape {
                    Shape::Office if !day.work || !(6.0..20.0).contains(&h) => 0.8,
                    Shape::Venue if !(7.0..22.0).contains(&h) => 0.85,
                    _ => 1.0,
                };
                g.scale * need * setback
            }
        }
        EnergyType::Water => {
            let a = match g.shape {
                Shape::HeatStation => activity(g.shape, day, h),
                Shape::Factory | Shape::ColdChain | Shape::DataCentre => {
                    0.3 + 0.7 * activity(g.shape, day, h)
                }
                s => 0.04 + activity(s, day, h),
            };
            g.scale * a
        }
        EnergyType::Gas => {
            let hour = h as usize;
            match g.shape {
                // A canteen: lunch and a small dinner on working days.
                Shape::Office => {
                    if !day.work {
                        0.02 * g.scale
                    } else {
                        const C: [f64; 24] = [
                            0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.1, 0.35, 0.3, 0.45, 0.8, 1.0,
                            0.55, 0.15, 0.1, 0.2, 0.45, 0.5, 0.2, 0.05, 0.02, 0.02, 0.02, 0.02,
                        ];
                        C[hour] * g.scale
                    }
                }
                s => g.scale * (0.15 + 0.85 * activity(s, day, h)),
            }
        }
    };
    per_hour * trend
}

/// Smooth weighted round robin over the districts: the heavier ones come up more often, but
/// the first few entities already land in different districts.
fn district_sequence(n: usize) -> Vec<usize> {
    let total: i64 = DISTRICTS.iter().map(|d| i64::from(d.3)).sum();
    let mut current = vec![0_i64; DISTRICTS.len()];
    (0..n)
        .map(|_| {
            for (c, d) in current.iter_mut().zip(DISTRICTS) {
                *c += i64::from(d.3);
            }
            let best = (0..current.len())
                .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                .unwrap_or(0);
            current[best] -= total;
            best
        })
        .collect()
}

fn places(code: &str) -> Vec<(&'static str, &'static str)> {
    if let Some(d) = super::grids::DISTRICTS.iter().find(|d| d.0 == code) {
        return d.3.to_vec();
    }
    COUNTY_PLACES
        .iter()
        .find(|p| p.0 == code)
        .map(|p| p.1.to_vec())
        .unwrap_or_default()
}

/// "坞城街道" → "坞城", "Wucheng Subdistrict" → "Wucheng".
fn short(place: (&str, &str)) -> (String, String) {
    let zh = place
        .0
        .trim_end_matches("街道")
        .trim_end_matches('镇')
        .to_string();
    let en = place
        .1
        .trim_end_matches(" Subdistrict")
        .trim_end_matches(" Town")
        .to_string();
    (zh, en)
}

fn elec(shape: Shape, scale: f64, base: f64, cooling: f64, trend: f64) -> Gen {
    Gen {
        ty: EnergyType::Electricity,
        shape,
        scale,
        base,
        cooling,
        trend,
        noise: 0.05,
        parent: None,
        share: 1.0,
        interval: 60,
    }
}

fn other(ty: EnergyType, shape: Shape, scale: f64, trend: f64) -> Gen {
    Gen {
        ty,
        shape,
        scale,
        base: 0.0,
        cooling: 0.0,
        trend,
        noise: 0.07,
        parent: None,
        share: 1.0,
        interval: 60,
    }
}

fn meter(suffix: &'static str, zh: &'static str, en: &'static str, gen: Gen) -> NewMeter {
    NewMeter {
        suffix,
        name_zh: zh,
        name_en: en,
        sub_of: None,
        gen,
    }
}

/// Demo entities, meters and `days` days of readings up to the last full hour before `now`,
/// about `meters` meters in all. Writes nothing when energy entities exist already.
pub async fn demo(store: &Store, meters: usize, days: i64, now: i64) -> sqlx::Result<EnergyDemo> {
    let started = std::time::Instant::now();
    let mut out = EnergyDemo::default();
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM energy_entities")
        .fetch_one(store.pool())
        .await?;
    if existing > 0 || meters == 0 || days <= 0 {
        return Ok(out);
    }
    let depts: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT code, id FROM departments")
            .fetch_all(store.pool())
            .await?
            .into_iter()
            .collect();
    let fallback = ["housing", DEFAULT_OWNER]
        .iter()
        .find_map(|c| depts.get(*c).copied())
        .or_else(|| depts.values().min().copied());
    let Some(fallback) = fallback else {
        return Ok(out);
    };
    let dept = |code: &str| depts.get(code).copied().unwrap_or(fallback);
    let grids: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, district_code FROM grids ORDER BY id")
            .fetch_all(store.pool())
            .await?;
    let mut grids_of: HashMap<&str, Vec<i64>> = HashMap::new();
    for (id, d) in &grids {
        grids_of.entry(d.as_str()).or_default().push(*id);
    }

    let mut rng = StdRng::seed_from_u64(0x0354_0105);
    let end = hour_start(now);
    let start = end - days * DAY_MS;

    // 1. Entities and meters.
    const KINDS: [EntityKind; 10] = [
        EntityKind::PublicBuilding,
        EntityKind::HeatingStation,
        EntityKind::Enterprise,
        EntityKind::StreetLight,
        EntityKind::PumpingStation,
        EntityKind::PublicBuilding,
        EntityKind::Enterprise,
        EntityKind::PublicBuilding,
        EntityKind::StreetLight,
        EntityKind::PublicBuilding,
    ];
    let seq = district_sequence(meters + 10);
    let mut per: HashMap<(usize, &'static str), usize> = HashMap::new();
    let mut serial: HashMap<&'static str, usize> = HashMap::new();
    let mut entities: Vec<NewEntity> = Vec::new();
    let mut total = 0;
    let mut k = 0;
    while total < meters {
        let kind = KINDS[k % KINDS.len()];
        let di = seq[k];
        k += 1;
        let (dcode, dzh, den, _) = DISTRICTS[di];
        let n = {
            let c = per.entry((di, kind.code())).or_default();
            *c += 1;
            *c - 1
        };
        let prefix = match kind {
            EntityKind::PublicBuilding => "PB",
            EntityKind::Enterprise => "EN",
            EntityKind::StreetLight => "SL",
            EntityKind::PumpingStation => "PS",
            EntityKind::HeatingStation => "HS",
            EntityKind::District => "DI",
        };
        let code = {
            let c = serial.entry(prefix).or_default();
            *c += 1;
            format!("TY-{prefix}-{:04}", *c)
        };
        let first = code.ends_with("-0001");
        let pl = places(dcode);
        let place = |i: usize| pl[i % pl.len().max(1)];
        let gov = format!(
            "gov-{}",
            den.split(' ').next().unwrap_or_default().to_lowercase()
        );
        let grid = grids_of
            .get(dcode)
            .filter(|g| !g.is_empty())
            .map(|g| g[rng.random_range(0..g.len())]);
        let trend: f64 = rng.random_range(-0.04..0.03);
        let (name_zh, name_en, department, area, ms) = match kind {
            EntityKind::PublicBuilding => {
                // Fourteen kinds of building per district before names repeat.
                let slot = n % 14;
                let round = n / 14;
                let centre = |i: usize| {
                    let p = place(i);
                    if i < pl.len() {
                        (
                            format!("{}便民服务中心", p.0),
                            format!("{} Service Centre", p.1),
                        )
                    } else {
                        (
                            format!("{}党群服务中心", p.0),
                            format!("{} Community Service Centre", p.1),
                        )
                    }
                };
                let estate = |i: usize| {
                    let (z, e) = short(place(i));
                    if i < pl.len() {
                        (
                            format!("{z}公租房小区"),
                            format!("{e} Public Rental Housing Estate"),
                        )
                    } else {
                        (
                            format!("{z}公租房小区二期"),
                            format!("{e} Public Rental Housing Estate, Phase II"),
                        )
                    }
                };
                let ((zh, en), shape, area): ((String, String), Shape, (f64, f64)) = match slot {
                    0 => (
                        (
                            format!("{dzh}政务服务中心"),
                            format!("{den} Government Service Centre"),
                        ),
                        Shape::Office,
                        (12e3, 25e3),
                    ),
                    1 => (
                        (
                            format!("{dzh}人民政府办公楼"),
                            format!("{den} Government Offices"),
                        ),
                        Shape::Office,
                        (8e3, 20e3),
                    ),
                    2 => (centre(0), Shape::Office, (1.5e3, 4e3)),
                    3 => (
                        (format!("{dzh}图书馆"), format!("{den} Library")),
                        Shape::Venue,
                        (6e3, 15e3),
                    ),
                    4 => (estate(0), Shape::Estate, (30e3, 80e3)),
                    5 => (
                        (format!("{dzh}文化馆"), format!("{den} Cultural Centre")),
                        Shape::Venue,
                        (3e3, 8e3),
                    ),
                    6 => (centre(1), Shape::Office, (1.5e3, 4e3)),
                    7 => (
                        (
                            format!("{dzh}全民健身中心"),
                            format!("{den} Fitness Centre"),
                        ),
                        Shape::Venue,
                        (5e3, 12e3),
                    ),
                    8 => (estate(1), Shape::Estate, (30e3, 80e3)),
                    9 => (
                        (format!("{dzh}档案馆"), format!("{den} Archives")),
                        Shape::Office,
                        (4e3, 9e3),
                    ),
                    10 => (centre(2), Shape::Office, (1.5e3, 4e3)),
                    11 => (estate(2), Shape::Estate, (30e3, 80e3)),
                    12 => (centre(3), Shape::Office, (1.5e3, 4e3)),
                    _ => (estate(3), Shape::Estate, (30e3, 80e3)),
                };
                let (zh, en) = if round == 0 {
                    (zh, en)
                } else {
                    (
                        format!("{zh}（{}号楼）", round + 1),
                        format!("{en}, Building {}", round + 1),
                    )
                };
                let a: f64 = rng.random_range(area.0..area.1).round();
                let department = if shape == Shape::Estate {
                    dept("housing")
                } else {
                    depts.get(&gov).copied().unwrap_or_else(|| dept("housing"))
                };
                let (w_per_m2, base, cooling) = match shape {
                    Shape::Office => (0.022, 0.22, 0.35),
                    Shape::Venue => (0.02, 0.2, 0.3),
                    _ => (0.0012, 0.3, 0.05),
                };
                let trend = trend.min(0.0) - 0.01;
                let mut ms = vec![meter(
                    "E",
                    "总电表",
                    "Main electricity meter",
                    elec(shape, a * w_per_m2, base, cooling, trend),
                )];
                if first || rng.random_bool(0.3) {
                    let a1: f64 = rng.random_range(0.30..0.45);
                    let a2 = rng.random_range(0.30..0.45_f64).min(0.88 - a1);
                    for (suffix, zh, en, share) in [
                        ("E1", "照明插座分表", "Lighting and sockets sub-meter", a1),
                        ("E2", "空调动力分表", "HVAC and power sub-meter", a2),
                    ] {
                        let mut g = elec(shape, 0.0, base, cooling, trend);
                        g.share = share;
                        g.noise = 0.03;
                        ms.push(NewMeter {
                            suffix,
                            name_zh: zh,
                            name_en: en,
                            sub_of: Some(0),
                            gen: g,
                        });
                    }
                }
                let water_per_m2 = if shape == Shape::Estate {
                    0.00004
                } else {
                    0.00025
                };
                ms.push(meter(
                    "W",
                    "水表",
                    "Water meter",
                    other(EnergyType::Water, shape, a * water_per_m2, trend),
                ));
                if first || rng.random_bool(0.9) {
                    ms.push(meter(
                        "H",
                        "热量表",
                        "Heat meter",
                        other(EnergyType::Heat, shape, a * 1.1e-4, trend),
                    ));
                }
                if shape == Shape::Office && slot < 2 && (first || rng.random_bool(0.6)) {
                    ms.push(meter(
                        "G",
                        "食堂燃气表",
                        "Canteen gas meter",
                        other(
                            EnergyType::Gas,
                            Shape::Office,
                            rng.random_range(6.0..18.0),
                            trend,
                        ),
                    ));
                }
                (zh, en, department, Some(a), ms)
            }
            EntityKind::Enterprise => {
                let e = serial["EN"] - 1;
                let (bz, be) = BRANDS[e % BRANDS.len()];
                let (tz, te, shape) = TRADES[(e + e / BRANDS.len()) % TRADES.len()];
                let round = e / (BRANDS.len() * TRADES.len());
                let (zh, en) = if round == 0 {
                    (format!("{bz}{tz}"), format!("{be} {te}"))
                } else {
                    (
                        format!("{bz}{tz}（{}）", round + 1),
                        format!("{be} {te} ({})", round + 1),
                    )
                };
                let a = rng.random_range(8e3..60e3_f64).round();
                let scale = match shape {
                    Shape::DataCentre => rng.random_range(1500.0..4000.0),
                    Shape::ColdChain => rng.random_range(300.0..900.0),
                    _ => rng.random_range(400.0..2000.0),
                };
                let trend = trend + 0.02;
                let (base, cooling) = match shape {
                    Shape::DataCentre => (1.0, 0.15),
                    Shape::ColdChain => (0.6, 0.25),
                    _ => (0.25, 0.05),
                };
                let mut ms = vec![meter(
                    "E",
                    "总电表",
                    "Main electricity meter",
                    elec(shape, scale, base, cooling, trend),
                )];
                ms.push(meter(
                    "W",
                    "水表",
                    "Water meter",
                    other(EnergyType::Water, shape, scale * 0.01, trend),
                ));
                if first || shape != Shape::DataCentre && rng.random_bool(0.7) {
                    ms.push(meter(
                        "G",
                        "燃气表",
                        "Gas meter",
                        other(EnergyType::Gas, shape, scale * 0.08, trend),
                    ));
                }
                if rng.random_bool(0.4) {
                    ms.push(meter(
                        "H",
                        "热量表",
                        "Heat meter",
                        other(EnergyType::Heat, Shape::Factory, a * 0.9e-4, trend),
                    ));
                }
                (zh, en, dept(DEFAULT_OWNER), Some(a), ms)
            }
            EntityKind::StreetLight => {
                let park = PARKS.iter().find(|p| p.0 == dcode).map(|p| p.1);
                let roads = ROADS.iter().find(|r| r.0 == dcode).map(|r| r.1);
                let (zh, en, shape, department) = match (park, roads) {
                    (Some((pz, pe)), _) if n % 3 == 2 => {
                        let i = n / 3 + 1;
                        (
                            format!("{pz}景观照明{i}号回路"),
                            format!("{pe} landscape lighting, circuit {i}"),
                            Shape::ParkLight,
                            dept("landscape"),
                        )
                    }
                    (_, Some(roads)) => {
                        let (rz, re) = roads[n % roads.len()];
                        let i = n / roads.len() + 1;
                        (
                            format!("{rz}路灯{i}号回路"),
                            format!("Street lights on {re}, circuit {i}"),
                            Shape::StreetLight,
                            dept("cmb"),
                        )
                    }
                    _ => {
                        let (sz, se) = short(place(n));
                        let i = n / pl.len().max(1) + 1;
                        (
                            format!("{sz}片区路灯{i}号回路"),
                            format!("Street lights in the {se} area, circuit {i}"),
                            Shape::StreetLight,
                            dept("cmb"),
                        )
                    }
                };
                let kw = rng.random_range(15.0..60.0_f64);
                let mut g = elec(shape, kw, 0.0, 0.0, trend.min(0.0));
                g.noise = 0.02;
                (
                    zh,
                    en,
                    department,
                    None,
                    vec![meter("E", "电表", "Electricity meter", g)],
                )
            }
            EntityKind::PumpingStation => {
                let (sz, se) = short(place(n));
                let i = n / pl.len().max(1);
                let (zh, en) = if i == 0 {
                    (
                        format!("{sz}加压泵站"),
                        format!("{se} Booster Pumping Station"),
                    )
                } else {
                    (
                        format!("{sz}{}号加压泵站", i + 1),
                        format!("{se} Booster Pumping Station No. {}", i + 1),
                    )
                };
                let g = elec(Shape::Pump, rng.random_range(40.0..200.0), 0.0, 0.15, trend);
                (
                    zh,
                    en,
                    dept("water"),
                    None,
                    vec![meter("E", "电表", "Electricity meter", g)],
                )
            }
            EntityKind::HeatingStation | EntityKind::District => {
                let (sz, se) = short(place(n + 1));
                let i = n / pl.len().max(1);
                let (zh, en) = if i == 0 {
                    (format!("{sz}换热站"), format!("{se} Heat Exchange Station"))
                } else {
                    (
                        format!("{sz}{}号换热站", i + 1),
                        format!("{se} Heat Exchange Station No. {}", i + 1),
                    )
                };
                let served = rng.random_range(80e3..300e3_f64);
                let ms = vec![
                    meter(
                        "H",
                        "热量表",
                        "Heat meter",
                        other(EnergyType::Heat, Shape::HeatStation, served * 1.1e-4, trend),
                    ),
                    meter(
                        "E",
                        "循环泵电表",
                        "Circulation pumps electricity meter",
                        elec(Shape::HeatStation, served * 3e-4, 0.0, 0.0, trend),
                    ),
                    meter(
                        "W",
                        "补水表",
                        "Make-up water meter",
                        other(EnergyType::Water, Shape::HeatStation, served * 1e-5, trend),
                    ),
                ];
                (zh, en, dept("heating"), None, ms)
            }
        };
        let mut ms = ms;
        ms.truncate(meters - total);
        total += ms.len();
        entities.push(NewEntity {
            code,
            name_zh,
            name_en,
            kind,
            district: di,
            department,
            grid,
            area,
            meters: ms,
        });
    }
    // A few 15-minute electricity meters: main meters without sub-meters at enterprises and
    // buildings (not the building with the injected night).
    let quarter = (meters / 30).max(1);
    let mut given = 0;
    for e in entities.iter_mut() {
        if given == quarter {
            break;
        }
        if !matches!(e.kind, EntityKind::Enterprise | EntityKind::PublicBuilding)
            || e.code == NIGHT_BASE_ENTITY
        {
            continue;
        }
        let has_subs = e.meters.iter().any(|m| m.sub_of.is_some());
        if let Some(m) = e
            .meters
            .iter_mut()
            .find(|m| m.gen.ty == EnergyType::Electricity && m.sub_of.is_none())
        {
            if !has_subs {
                m.gen.interval = 15;
                given += 1;
            }
        }
    }

    let mut tx = store.begin().await?;
    let mut infos: HashMap<i64, MeterInfo> = HashMap::new();
    // Meters in creation order: (id, generator, entity code), parents before their subs.
    let mut all: Vec<(i64, Gen, String)> = Vec::new();
    for e in &entities {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, grid_id, department_id, \
             floor_area_m2, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&e.code)
        .bind(&e.name_zh)
        .bind(&e.name_en)
        .bind(e.kind.code())
        .bind(DISTRICTS[e.district].0)
        .bind(e.grid)
        .bind(e.department)
        .bind(e.area)
        .bind(start)
        .fetch_one(&mut *tx)
        .await?;
        let mut ids: Vec<i64> = Vec::new();
        for m in &e.meters {
            let parent = m.sub_of.map(|i| ids[i]);
            let mid: i64 = sqlx::query_scalar(
                "INSERT INTO meters (code, entity_id, energy_type, parent_id, interval_minutes, name_zh, name_en, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(format!("{}-{}", e.code, m.suffix))
            .bind(id)
            .bind(m.gen.ty.code())
            .bind(parent)
            .bind(m.gen.interval)
            .bind(m.name_zh)
            .bind(m.name_en)
            .bind(start)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(mid);
            infos.insert(
                mid,
                MeterInfo {
                    id: mid,
                    entity_id: id,
                    district_code: DISTRICTS[e.district].0.to_string(),
                    energy_type: m.gen.ty,
                    is_sub_meter: parent.is_some(),
                },
            );
            let mut g = m.gen.clone();
            if let Some(i) = m.sub_of {
                let parent_index = all.len() + 1 + i - ids.len();
                g.parent = Some(parent_index);
                g.interval = e.meters[i].gen.interval;
            }
            all.push((mid, g, e.code.clone()));
        }
    }
    tx.commit().await?;
    out.entities = entities.len();
    out.meters = all.len();

    // 2. Readings, a few hours of every meter at a time, through the ingest.
    let first_day = local_day(start);
    let last_day = local_day(end);
    let days_v = make_days(first_day, last_day, &mut rng);
    let day_of = |ts: i64| &days_v[(local_day(ts) - first_day) as usize];
    // Injected anomalies (local days before the last full one).
    let today = local_day(end - 1);
    let night_day = today - 5;
    let night = (day_start(night_day), day_start(night_day) + 6 * HOUR_MS);
    let spikes: [(&str, i64, f64); 2] = [
        (SPIKE_ENTITIES[0], day_start(today - 9) + 15 * HOUR_MS, 2.6),
        (SPIKE_ENTITIES[1], day_start(today - 3) + 10 * HOUR_MS, 2.4),
    ];
    let injected = |code: &str| code == NIGHT_BASE_ENTITY || SPIKE_ENTITIES.contains(&code);
    // Gaps: some meters are silent for a few hours (never the injected entities, whose
    // baseline the anomaly check needs whole).
    let gaps: Vec<Option<(i64, i64)>> = all
        .iter()
        .map(|(_, _, code)| {
            (!injected(code) && rng.random_bool(0.2)).then(|| {
                let at = hour_start(rng.random_range(start..end));
                (at, at + rng.random_range(2..10) * HOUR_MS)
            })
        })
        .collect();
    let parents: Vec<bool> = (0..all.len())
        .map(|i| all.iter().any(|(_, g, _)| g.parent == Some(i)))
        .collect();
    let (factors, region) = energy_ingest::factors(store).await?;
    let per_hour: usize = all.iter().map(|(_, g, _)| (60 / g.interval) as usize).sum();
    let block = ((BATCH / per_hour.max(1)).max(1) as i64) * HOUR_MS;
    let mut rows: Vec<ReadingRow> = Vec::with_capacity(BATCH + per_hour);
    // The modelled (true) values of the parents in the current block, for their sub-meters.
    let mut truth: HashMap<usize, Vec<(f64, bool)>> = HashMap::new();
    let mut b0 = start;
    while b0 < end {
        let b1 = (b0 + block).min(end);
        rows.clear();
        truth.clear();
        for (i, (id, g, code)) in all.iter().enumerate() {
            let step = g.interval * 60_000;
            let parts = (60 / g.interval) as f64;
            let is_parent = parents[i];
            let mut mine = Vec::new();
            let mut ts = b0;
            let mut j = 0;
            while ts < b1 {
                // A sub-meter measures part of its parent and is silent when the parent is.
                let (v, parent_silent) = match g.parent {
                    Some(p) => {
                        let (pv, present) = truth
                            .get(&p)
                            .and_then(|t| t.get(j))
                            .copied()
                            .unwrap_or((0.0, false));
                        (
                            pv * g.share * rng.random_range(1.0 - g.noise..1.0 + g.noise),
                            !present,
                        )
                    }
                    None => {
                        let day = day_of(ts);
                        let mut v = model(g, day, ts, end) / parts
                            * rng.random_range(1.0 - g.noise..1.0 + g.noise);
                        if g.ty == EnergyType::Electricity {
                            if code == NIGHT_BASE_ENTITY && ts >= night.0 && ts < night.1 {
                                v *= 2.0;
                            }
                            for (c, at, x) in &spikes {
                                if c == code && hour_start(ts) == *at {
                                    v *= x;
                                }
                            }
                        }
                        (v, false)
                    }
                };
                let missing = parent_silent
                    || gaps[i].is_some_and(|(a, b)| ts >= a && ts < b)
                    || (!injected(code) && rng.random_bool(0.0005));
                if is_parent {
                    mine.push((v, !missing));
                }
                if !missing {
                    rows.push(ReadingRow {
                        meter_id: *id,
                        ts,
                        value: (v * 1000.0).round() / 1000.0,
                    });
                }
                ts += step;
                j += 1;
            }
            if is_parent {
                truth.insert(i, mine);
            }
        }
        let mut tx = store.begin().await?;
        energy_ingest::store_in(
            &mut tx,
            store.kind,
            &rows,
            &infos,
            &factors,
            &region,
            DEMO_SOURCE,
            now,
        )
        .await?;
        tx.commit().await?;
        out.readings += rows.len();
        b0 = b1;
    }
    out.ms = started.elapsed().as_millis() as u64;
    Ok(out)
}
