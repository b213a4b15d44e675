//! What a citizen can report: a short list of categories in everyday words, each mapped to
//! one minor class of the catalogue (the dispatcher may re-classify when filing). The same
//! list is the Open311 service list; `code` is the Open311 `service_code`.
//!
//! Some categories ask a question or two (Open311 attributes); the answers travel with the
//! report and are shown to the dispatcher.
use crate::error::FieldErrorKind;

/// Kind of answer an attribute takes (the Open311 `datatype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    String,
    Text,
    Number,
    SingleValueList,
}

impl Datatype {
    pub fn code(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Text => "text",
            Datatype::Number => "number",
            Datatype::SingleValueList => "singlevaluelist",
        }
    }
}

/// One question of a category.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub code: &'static str,
    pub datatype: Datatype,
    pub required: bool,
    pub zh: &'static str,
    pub en: &'static str,
    /// (key, Chinese, English) for lists.
    pub values: &'static [(&'static str, &'static str, &'static str)],
}

/// A category a citizen picks.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub code: &'static str,
    /// Open311 `group` (and the heading the report page groups by).
    pub group: Group,
    pub zh: &'static str,
    pub en: &'static str,
    pub about_zh: &'static str,
    pub about_en: &'static str,
    /// The catalogue class a report of this category files under: kind and 4-digit code.
    pub class_kind: &'static str,
    pub class_code: &'static str,
    /// Words people use for it (Open311 `keywords`).
    pub keywords: &'static str,
    pub attributes: &'static [Attribute],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Roads,
    Clean,
    Utilities,
    Green,
    Order,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Roads,
        Group::Utilities,
        Group::Clean,
        Group::Green,
        Group::Order,
    ];
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Group::Roads => ("道路与交通", "Roads and traffic"),
            Group::Clean => ("环境卫生", "Cleanliness"),
            Group::Utilities => ("公用设施", "Utilities"),
            Group::Green => ("树木绿地", "Trees and green spaces"),
            Group::Order => ("街面秩序", "Street order"),
        }
    }
}

const YES_NO: &[(&str, &str, &str)] = &[("yes", "是", "Yes"), ("no", "否", "No")];

const DANGER: Attribute = Attribute {
    code: "danger",
    datatype: Datatype::SingleValueList,
    required: true,
    zh: "是否危及行人或车辆安全？",
    en: "Is it a danger to people or traffic?",
    values: YES_NO,
};

const C: &str = "component";
const E: &str = "event";

#[rustfmt::skip]
pub const SERVICES: &[Service] = &[
    Service { code: "pothole", group: Group::Roads, zh: "路面坑洞或塌陷", en: "Pothole or road collapse",
        about_zh: "路面出现坑洞、下沉或塌陷。", about_en: "A hole, dip or collapse in the road surface.",
        class_kind: E, class_code: "0401", keywords: "road,hole,collapse,路面,坑", attributes: &[DANGER] },
    Service { code: "traffic_signal", group: Group::Roads, zh: "信号灯故障", en: "Traffic signal fault",
        about_zh: "交通信号灯不亮、闪烁或损坏。", about_en: "A traffic light that is dark, flashing or damaged.",
        class_kind: C, class_code: "0204", keywords: "traffic light,signal,红绿灯", attributes: &[DANGER] },
    Service { code: "parking", group: Group::Roads, zh: "机动车乱停放", en: "Illegal parking",
        about_zh: "车辆占用人行道、盲道或消防通道。", about_en: "A vehicle blocking a pavement, tactile path or fire lane.",
        class_kind: E, class_code: "0504", keywords: "car,parking,停车", attributes: &[] },
    Service { code: "flooding", group: Group::Roads, zh: "道路积水", en: "Flooded road",
        about_zh: "雨后路面积水影响通行。", about_en: "Standing water on a road or pavement.",
        class_kind: E, class_code: "0405", keywords: "water,flood,rain,积水", attributes: &[DANGER] },
    Service { code: "manhole", group: Group::Utilities, zh: "井盖破损或丢失", en: "Broken or missing manhole cover",
        about_zh: "井盖破损、缺失或移位。", about_en: "A manhole cover that is broken, missing or out of place.",
        class_kind: C, class_code: "0101", keywords: "manhole,cover,井盖", attributes: &[DANGER] },
    Service { code: "streetlight", group: Group::Utilities, zh: "路灯不亮", en: "Street light out",
        about_zh: "路灯不亮、常亮或灯杆损坏。", about_en: "A street light that is out, always on, or has a damaged pole.",
        class_kind: C, class_code: "0110", keywords: "lamp,light,路灯",
        attributes: &[Attribute { code: "pole_number", datatype: Datatype::String, required: false,
            zh: "灯杆上的编号（如有）", en: "Number on the pole, if any", values: &[] }] },
    Service { code: "water_leak", group: Group::Utilities, zh: "自来水管破裂", en: "Burst water pipe",
        about_zh: "地面冒水或水管破裂。", about_en: "Water coming out of the ground or a broken pipe.",
        class_kind: E, class_code: "0402", keywords: "water,leak,pipe,漏水", attributes: &[] },
    Service { code: "drain", group: Group::Utilities, zh: "下水道堵塞或破损", en: "Blocked or broken drain",
        about_zh: "下水道堵塞、冒水或发出异味。", about_en: "A drain that is blocked, overflowing or smells.",
        class_kind: E, class_code: "0404", keywords: "drain,sewer,下水道", attributes: &[] },
    Service { code: "garbage", group: Group::Clean, zh: "垃圾堆积", en: "Garbage left out",
        about_zh: "路边或空地上堆放的垃圾。", about_en: "Rubbish left on a street or open ground.",
        class_kind: E, class_code: "0102", keywords: "rubbish,trash,litter,垃圾", attributes: &[] },
    Service { code: "dirty_street", group: Group::Clean, zh: "道路不洁", en: "Dirty street",
        about_zh: "路面污渍、泥土或散落物。", about_en: "Mud, stains or spilt material on a street.",
        class_kind: E, class_code: "0104", keywords: "dirty,street,clean,脏", attributes: &[] },
    Service { code: "litter_bin", group: Group::Clean, zh: "垃圾箱损坏或满溢", en: "Damaged or full litter bin",
        about_zh: "垃圾箱损坏、缺失或满溢。", about_en: "A litter bin that is damaged, missing or overflowing.",
        class_kind: C, class_code: "0302", keywords: "bin,litter,垃圾箱", attributes: &[] },
    Service { code: "flyers", group: Group::Clean, zh: "小广告", en: "Illegal flyers",
        about_zh: "墙面、电线杆上张贴或喷涂的小广告。", about_en: "Flyers stuck or sprayed on walls or poles.",
        class_kind: E, class_code: "0201", keywords: "flyer,poster,graffiti,小广告", attributes: &[] },
    Service { code: "fallen_tree", group: Group::Green, zh: "树木倒伏", en: "Fallen tree",
        about_zh: "树木或大树枝倒在路上。", about_en: "A tree or large branch down on a road or path.",
        class_kind: E, class_code: "0408", keywords: "tree,branch,树", attributes: &[DANGER] },
    Service { code: "green_damage", group: Group::Green, zh: "绿地损坏", en: "Damaged green space",
        about_zh: "绿地被踩踏、占用或毁坏。", about_en: "A green space trampled, taken over or damaged.",
        class_kind: E, class_code: "0601", keywords: "grass,park,绿地", attributes: &[] },
    Service { code: "street_vending", group: Group::Order, zh: "占道经营", en: "Street vending",
        about_zh: "在人行道或路口摆摊经营。", about_en: "Stalls selling on a pavement or at a crossing.",
        class_kind: E, class_code: "0501", keywords: "stall,vendor,摆摊", attributes: &[] },
    Service { code: "construction_noise", group: Group::Order, zh: "施工扰民", en: "Construction noise",
        about_zh: "施工噪声影响休息。", about_en: "Building work noise disturbing residents.",
        class_kind: E, class_code: "0301", keywords: "noise,construction,噪声",
        attributes: &[Attribute { code: "at_night", datatype: Datatype::SingleValueList, required: true,
            zh: "是否在夜间（22:00–6:00）？", en: "Is it at night (22:00–06:00)?", values: YES_NO }] },
];

pub fn service(code: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.code == code)
}

/// Checks the answers to a category's questions: every required one given, list answers
/// among the keys, numbers numeric, texts within their length; unknown ones are ignored.
/// Returns the answers kept (trimmed, empty ones dropped) or the first bad attribute's code
/// with what is wrong with it.
pub fn check_answers(
    s: &Service,
    answers: &[(String, String)],
) -> Result<Vec<(String, String)>, (&'static str, FieldErrorKind)> {
    let mut kept = Vec::new();
    for (k, v) in answers {
        let Some(a) = s.attributes.iter().find(|a| a.code == k) else {
            // Unknown attributes are ignored, as Open311 clients may send extra ones.
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let bad =
            match a.datatype {
                Datatype::SingleValueList => (!a.values.iter().any(|(key, _, _)| *key == v))
                    .then_some(FieldErrorKind::BadAnswer),
                Datatype::Number => (!v.parse::<f64>().is_ok_and(f64::is_finite))
                    .then_some(FieldErrorKind::BadNumber),
                Datatype::String => (v.chars().count() > 100).then_some(FieldErrorKind::TooLong),
                Datatype::Text => (v.chars().count() > 1000).then_some(FieldErrorKind::TooLong),
            };
        if let Some(kind) = bad {
            return Err((a.code, kind));
        }
        if !kept.iter().any(|(kk, _): &(String, String)| kk == k) {
            kept.push((a.code.to_string(), v.to_string()));
        }
    }
    for a in s.attributes.iter().filter(|a| a.required) {
        if !kept.iter().any(|(k, _)| k == a.code) {
            return Err((a.code, FieldErrorKind::Required));
        }
    }
    Ok(kept)
}

/// Letters of tracking codes: no 0/O, 1/I/L, so a code read aloud or typed on a phone
/// survives.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// `TY-XXXX-XXXX`: a tracking code in its canonical form, from what a person typed (any
/// case, with or without dashes or spaces). None when it cannot be one.
pub fn normalise_code(s: &str) -> Option<String> {
    let chars: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let body = chars.strip_prefix("TY")?;
    if body.len() != 8 || !body.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!("TY-{}-{}", &body[..4], &body[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_groups_used() {
        let mut seen = std::collections::HashSet::new();
        for s in SERVICES {
            assert!(seen.insert(s.code), "duplicate {}", s.code);
            assert!(s.class_code.len() == 4 && s.class_code.bytes().all(|b| b.is_ascii_digit()));
            assert!(s.class_kind == C || s.class_kind == E);
        }
        for g in Group::ALL {
            assert!(SERVICES.iter().any(|s| s.group == g), "{g:?} empty");
        }
    }

    #[test]
    fn answers_are_checked() {
        let manhole = service("manhole").unwrap();
        assert_eq!(
            check_answers(manhole, &[]),
            Err(("danger", FieldErrorKind::Required))
        );
        assert_eq!(
            check_answers(manhole, &[("danger".into(), "maybe".into())]),
            Err(("danger", FieldErrorKind::BadAnswer))
        );
        assert_eq!(
            check_answers(
                manhole,
                &[
                    ("danger".into(), " yes ".into()),
                    ("other".into(), "x".into())
                ]
            ),
            Ok(vec![("danger".into(), "yes".into())])
        );
        let light = service("streetlight").unwrap();
        assert_eq!(check_answers(light, &[]), Ok(vec![]));
        assert_eq!(
            check_answers(light, &[("pole_number".into(), "x".repeat(101))]),
            Err(("pole_number", FieldErrorKind::TooLong))
        );
    }

    #[test]
    fn tracking_codes_normalise() {
        assert_eq!(
            normalise_code(" ty-4k7m x2qd "),
            Some("TY-4K7M-X2QD".into())
        );
        assert_eq!(normalise_code("TY4K7MX2QD"), Some("TY-4K7M-X2QD".into()));
        // 0 is not in the alphabet; wrong length; wrong prefix.
        assert_eq!(normalise_code("TY-4K7M-X2Q0"), None);
        assert_eq!(normalise_code("TY-4K7M-X2Q"), None);
        assert_eq!(normalise_code("XX-4K7M-X2QD"), None);
        assert_eq!(normalise_code("'; DROP TABLE"), None);
    }
}
