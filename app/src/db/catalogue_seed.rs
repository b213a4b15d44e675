//! The classification catalogue seeded into a new database: the major (大类) and minor (小类)
//! classes of components (部件) and events (事件) used by digital city management
//! (数字化城市管理), after the national classification of GB/T 30428.2 / CJ/T 214.
//!
//! Codes are a 2-digit major followed by a 2-digit minor, unique within a kind. Every minor
//! carries its filing condition (立案条件), closing condition (结案条件), handling time limit
//! (处置时限: `limit` counted in `unit`, one of [`UNITS`]) and the code of the department it
//! is dispatched to by default (one of [`DEPTS`], matching the demo departments). Time limits
//! follow local practice (exposed garbage 4 work-hours, dirty road 5 work-hours, stopping an
//! illegal building 4 work-hours, missing manhole covers 2 emergency hours).

/// A major class (大类) of one kind.
pub struct MajorSeed {
    /// `"component"` or `"event"`.
    pub kind: &'static str,
    /// Two digits.
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// A minor class (小类) with its filing and closing conditions, time limit and default department.
pub struct MinorSeed {
    /// `"component"` or `"event"`.
    pub kind: &'static str,
    /// Four digits, starting with its major's code.
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// 立案条件.
    pub filing_zh: &'static str,
    pub filing_en: &'static str,
    /// 结案条件.
    pub closing_zh: &'static str,
    pub closing_en: &'static str,
    /// Handling time limit (处置时限), counted in `unit`.
    pub limit: i64,
    /// One of [`UNITS`].
    pub unit: &'static str,
    /// Default responsible department code, one of [`DEPTS`].
    pub dept: &'static str,
}

/// The two kinds of class.
pub const KINDS: &[&str] = &[COMPONENT, EVENT];
/// The time-limit units: emergency work-hours, work-hours, work-days, natural days.
pub const UNITS: &[&str] = &[EH, WH, WD, ND];
/// The department codes a minor class may name as its default.
pub const DEPTS: &[&str] = &[
    "cmb",
    "psb",
    "housing",
    "transport",
    "ecology",
    "water",
    "landscape",
    "heating",
    "gov-xiaodian",
    "ndrc",
];

const COMPONENT: &str = "component";
const EVENT: &str = "event";
const C: &str = COMPONENT;
const E: &str = EVENT;
const EH: &str = "emergency_hours";
const WH: &str = "work_hours";
const WD: &str = "work_days";
const ND: &str = "natural_days";

const fn major(
    kind: &'static str,
    code: &'static str,
    zh: &'static str,
    en: &'static str,
) -> MajorSeed {
    MajorSeed { kind, code, zh, en }
}

/// One minor class; arguments in field order.
#[allow(clippy::too_many_arguments)]
const fn m(
    kind: &'static str,
    code: &'static str,
    zh: &'static str,
    en: &'static str,
    filing_zh: &'static str,
    filing_en: &'static str,
    closing_zh: &'static str,
    closing_en: &'static str,
    limit: i64,
    unit: &'static str,
    dept: &'static str,
) -> MinorSeed {
    MinorSeed {
        kind,
        code,
        zh,
        en,
        filing_zh,
        filing_en,
        closing_zh,
        closing_en,
        limit,
        unit,
        dept,
    }
}

pub const MAJORS: &[MajorSeed] = &[
    major(C, "01", "公用设施", "Public utilities"),
    major(C, "02", "道路交通", "Roads and traffic"),
    major(C, "03", "市容环境", "City appearance and environment"),
    major(C, "04", "园林绿化", "Landscaping"),
    major(C, "05", "房屋土地", "Housing and land"),
    major(C, "06", "其他设施", "Other facilities"),
    major(E, "01", "市容环境", "City appearance"),
    major(E, "02", "宣传广告", "Advertising"),
    major(E, "03", "施工管理", "Construction management"),
    major(E, "04", "突发事件", "Emergencies"),
    major(E, "05", "街面秩序", "Street order"),
    major(E, "06", "其他事件", "Other events"),
];

// One minor per block: kind, code, names; filing condition; closing condition; limit, unit, dept.
// Laid out by hand (four lines each) rather than one argument per line.
#[rustfmt::skip]
pub const MINORS: &[MinorSeed] = &[
    // ── Components 01 公用设施 Public utilities ──
    m(C, "0101", "上水井盖", "Water-supply manhole cover",
      "井盖破损、缺失或移位", "Cover broken, missing or displaced",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "water"),
    m(C, "0102", "污水井盖", "Sewer manhole cover",
      "井盖破损、缺失或移位", "Cover broken, missing or displaced",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "water"),
    m(C, "0103", "雨水井盖", "Storm-drain manhole cover",
      "井盖破损、缺失或移位", "Cover broken, missing or displaced",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "water"),
    m(C, "0104", "雨水箅子", "Storm-drain grate",
      "箅子破损、缺失或被杂物堵塞", "Grate broken, missing or clogged with debris",
      "箅子已更换或清掏，排水通畅", "Grate replaced or cleared; water drains freely",
      4, WH, "water"),
    m(C, "0105", "电力井盖", "Power manhole cover",
      "井盖破损、缺失或移位", "Cover broken, missing or displaced",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "cmb"),
    m(C, "0106", "通信井盖", "Telecom manhole cover",
      "井盖破损、缺失或移位", "Cover broken, missing or displaced",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "cmb"),
    m(C, "0107", "燃气井盖", "Gas manhole cover",
      "井盖破损、缺失或移位", "Cover broken, missing or displaced",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "housing"),
    m(C, "0108", "热力井盖", "Heating manhole cover",
      "井盖破损、缺失、移位或冒汽", "Cover broken, missing, displaced or steaming",
      "井盖已更换或复位，安全隐患消除", "Cover replaced or reset; hazard removed",
      2, EH, "heating"),
    m(C, "0109", "消防栓", "Fire hydrant",
      "消防栓损坏、漏水或被占压遮挡", "Hydrant damaged, leaking or obstructed",
      "消防栓已修复，周边无占压", "Hydrant repaired and cleared of obstructions",
      1, WD, "water"),
    m(C, "0110", "路灯", "Street light",
      "路灯不亮、灯杆倾斜或灯具破损", "Light out, pole leaning or fitting broken",
      "路灯恢复正常照明，灯杆灯具完好", "Light working again; pole and fitting intact",
      2, WD, "cmb"),
    m(C, "0111", "监控电子眼", "Surveillance camera",
      "摄像机损坏、倾斜或线缆外露", "Camera damaged, tilted or with exposed cables",
      "摄像机已修复，线缆规整", "Camera repaired and cables tidied",
      3, WD, "psb"),

    // ── Components 02 道路交通 Roads and traffic ──
    m(C, "0201", "停车场", "Car park",
      "停车场设施损坏或标线模糊", "Car-park fixtures damaged or markings faded",
      "设施已修复，标线清晰", "Fixtures repaired and markings clear",
      5, WD, "transport"),
    m(C, "0202", "公交站亭", "Bus shelter",
      "站亭顶棚、座椅或站牌破损", "Shelter roof, seat or stop sign damaged",
      "站亭已修复，可正常使用", "Shelter repaired and usable",
      3, WD, "transport"),
    m(C, "0203", "交通标志牌", "Traffic sign",
      "标志牌破损、倾倒、缺失或被遮挡", "Sign damaged, knocked down, missing or obscured",
      "标志牌已修复或补装，清晰可见", "Sign repaired or replaced and clearly visible",
      3, WD, "transport"),
    m(C, "0204", "交通信号灯", "Traffic signal",
      "信号灯不亮、常亮或显示错误", "Signal dark, stuck or showing wrong aspects",
      "信号灯恢复正常运行", "Signal working normally again",
      2, EH, "psb"),
    m(C, "0205", "护栏", "Guardrail",
      "护栏破损、倾倒或缺失", "Guardrail damaged, knocked over or missing",
      "护栏已修复或补装，安装牢固", "Guardrail repaired or replaced and secure",
      2, WD, "transport"),
    m(C, "0206", "过街天桥", "Pedestrian overpass",
      "天桥栏杆、台阶或桥面破损", "Railings, steps or deck of the overpass damaged",
      "破损部位已修复，通行安全", "Damage repaired; safe to use",
      5, WD, "transport"),
    m(C, "0207", "地下通道", "Pedestrian underpass",
      "通道照明损坏、积水或设施破损", "Underpass lighting broken, flooded or fixtures damaged",
      "照明恢复，积水排除，设施完好", "Lighting restored, water cleared, fixtures intact",
      3, WD, "transport"),
    m(C, "0208", "桥梁", "Bridge",
      "桥梁栏杆、伸缩缝或桥面破损", "Bridge railings, expansion joints or deck damaged",
      "破损部位已修复，经检查安全", "Damage repaired and inspected as safe",
      10, WD, "transport"),

    // ── Components 03 市容环境 City appearance and environment ──
    m(C, "0301", "公共厕所", "Public toilet",
      "公厕设施损坏、脏污或非正常关闭", "Toilet fixtures broken, dirty or closed without notice",
      "设施已修复，保洁到位，正常开放", "Fixtures repaired, cleaned and open as normal",
      1, WD, "cmb"),
    m(C, "0302", "垃圾箱", "Litter bin",
      "垃圾箱破损、缺失或满溢", "Bin damaged, missing or overflowing",
      "垃圾箱已修复或补设，清运及时", "Bin repaired or replaced and emptied",
      1, WD, "cmb"),
    m(C, "0303", "垃圾间(楼)", "Refuse room or building",
      "垃圾间破损、脏乱或异味明显", "Refuse room damaged, dirty or smelly",
      "垃圾间已修复清洁，无明显异味", "Refuse room repaired and cleaned; no strong smell",
      2, WD, "cmb"),
    m(C, "0304", "广告牌匾", "Advertising signboard",
      "牌匾破损、字迹残缺或有坠落隐患", "Signboard damaged, lettering missing or at risk of falling",
      "牌匾已修复或拆除，无安全隐患", "Signboard repaired or removed; no hazard",
      3, WD, "cmb"),
    m(C, "0305", "公共座椅", "Public bench",
      "座椅破损、缺失或松动", "Bench broken, missing or loose",
      "座椅已修复或补设，安装牢固", "Bench repaired or replaced and secure",
      3, WD, "cmb"),
    m(C, "0306", "雕塑", "Sculpture",
      "雕塑破损、污损或倾斜", "Sculpture damaged, defaced or leaning",
      "雕塑已修复清洁", "Sculpture repaired and cleaned",
      15, ND, "cmb"),

    // ── Components 04 园林绿化 Landscaping ──
    m(C, "0401", "古树名木", "Heritage tree",
      "古树名木受损、长势衰弱或保护设施损坏", "Heritage tree damaged, declining or its protection broken",
      "已采取救护措施，保护设施完好", "Rescue measures taken; protection intact",
      2, WD, "landscape"),
    m(C, "0402", "行道树", "Street tree",
      "行道树缺株、死亡、倾斜或需修剪", "Street tree missing, dead, leaning or needing pruning",
      "已补植、扶正或修剪完毕", "Tree replanted, straightened or pruned",
      5, WD, "landscape"),
    m(C, "0403", "绿地", "Green space",
      "绿地黄土裸露、缺株或设施损坏", "Green space bare, patchy or with damaged fixtures",
      "已补植覆绿，设施修复", "Replanted and fixtures repaired",
      5, WD, "landscape"),
    m(C, "0404", "花坛", "Flower bed",
      "花坛破损、花卉缺失或枯死", "Flower bed damaged, plants missing or dead",
      "花坛已修复，花卉已补栽", "Flower bed repaired and replanted",
      3, WD, "landscape"),
    m(C, "0405", "树池", "Tree pit",
      "树池边框或箅子破损、缺失", "Tree-pit edging or grate broken or missing",
      "树池已修复，与路面平整", "Tree pit repaired and level with the pavement",
      3, WD, "landscape"),
    m(C, "0406", "绿地护栏", "Green-space fence",
      "护栏破损、倾倒或缺失", "Fence damaged, knocked over or missing",
      "护栏已修复或补装", "Fence repaired or replaced",
      3, WD, "landscape"),
    m(C, "0407", "绿化喷灌设施", "Irrigation equipment",
      "喷头、管道损坏或漏水", "Sprinkler heads or pipes damaged or leaking",
      "设施已修复，无漏水", "Equipment repaired; no leaks",
      3, WD, "landscape"),

    // ── Components 05 房屋土地 Housing and land ──
    m(C, "0501", "危房", "Dangerous building",
      "房屋出现明显裂缝、倾斜或构件脱落", "Building visibly cracked, leaning or shedding parts",
      "已设置警戒并排险加固", "Area cordoned off and building made safe",
      4, EH, "housing"),
    m(C, "0502", "工地", "Construction site",
      "工地设施破损或存在安全隐患", "Site facilities damaged or unsafe",
      "隐患已整改，设施完好", "Hazards fixed and facilities intact",
      3, WD, "housing"),
    m(C, "0503", "公房", "Public housing",
      "公房屋面、外墙或公共部位破损", "Roof, outer wall or common parts of public housing damaged",
      "破损部位已修缮", "Damage repaired",
      5, WD, "housing"),
    m(C, "0504", "建筑外立面", "Building facade",
      "外墙面砖、装饰物松动脱落或污损", "Facade tiles or ornaments loose, falling or defaced",
      "外立面已修复清洁，无坠落隐患", "Facade repaired and cleaned; no risk of falling",
      5, WD, "housing"),
    m(C, "0505", "闲置土地", "Vacant land",
      "闲置地块未围挡、未覆盖或堆放垃圾", "Vacant plot unfenced, uncovered or used for dumping",
      "已围挡覆盖，垃圾清除", "Plot fenced and covered; rubbish removed",
      15, ND, "gov-xiaodian"),
    m(C, "0506", "人防工事", "Civil air-defence shelter",
      "人防出入口或设施破损、被占用", "Shelter entrance or fittings damaged or occupied",
      "设施已修复，占用已清理", "Fittings repaired and occupation cleared",
      30, ND, "housing"),

    // ── Components 06 其他设施 Other facilities ──
    m(C, "0601", "健身设施", "Fitness equipment",
      "健身器材破损、松动或缺失", "Fitness equipment broken, loose or missing",
      "器材已修复或拆除，无安全隐患", "Equipment repaired or removed; no hazard",
      5, WD, "gov-xiaodian"),
    m(C, "0602", "河道护栏", "Riverside railing",
      "河道护栏破损、倾倒或缺失", "Riverside railing damaged, knocked over or missing",
      "护栏已修复或补装，安装牢固", "Railing repaired or replaced and secure",
      2, WD, "water"),
    m(C, "0603", "防汛设施", "Flood-control facility",
      "防汛设施损坏或防汛物资缺失", "Flood-control facility damaged or supplies missing",
      "设施已修复，物资已补齐", "Facility repaired and supplies restocked",
      2, WD, "water"),
    m(C, "0604", "排水泵站", "Drainage pumping station",
      "泵站设备故障或外围设施破损", "Pumping-station equipment faulty or surroundings damaged",
      "设备恢复运行，设施完好", "Equipment running again; facilities intact",
      1, WD, "water"),
    m(C, "0605", "环境监测站", "Environmental monitoring station",
      "监测站设施损坏或停止运行", "Monitoring station damaged or out of service",
      "监测站已修复并恢复运行", "Station repaired and back in service",
      7, ND, "ecology"),
    m(C, "0606", "公共自行车停放点", "Bike-share dock",
      "停放点锁桩或设施损坏", "Dock bollards or fixtures damaged",
      "设施已修复，可正常借还", "Fixtures repaired; bikes can be borrowed and returned",
      3, WD, "transport"),

    // ── Events 01 市容环境 City appearance ──
    m(E, "0101", "私搭乱建", "Illegal construction",
      "未经批准搭建建筑物、构筑物", "Structure built without approval",
      "已责令停工，违建拆除或依法处理", "Work stopped; structure removed or dealt with by law",
      4, WH, "cmb"),
    m(E, "0102", "暴露垃圾", "Exposed garbage",
      "路面、绿地等公共区域有暴露垃圾", "Garbage left in the open on roads, green space or other public areas",
      "垃圾已清除，现场整洁", "Garbage removed; site clean",
      4, WH, "cmb"),
    m(E, "0103", "积存垃圾渣土", "Accumulated garbage and spoil",
      "公共区域积存垃圾或建筑渣土", "Garbage or construction spoil piled up in a public area",
      "积存物已清运，现场整洁", "Piles cleared away; site clean",
      1, WD, "cmb"),
    m(E, "0104", "道路不洁", "Dirty road",
      "道路有明显污物、泥土或油渍", "Road visibly dirty, muddy or oil-stained",
      "道路已清扫冲洗干净", "Road swept and washed clean",
      5, WH, "cmb"),
    m(E, "0105", "水域不洁", "Dirty water surface",
      "河道、湖面有漂浮物或垃圾", "Floating debris or rubbish on a river or lake",
      "漂浮物已打捞清除", "Debris fished out and removed",
      1, WD, "water"),
    m(E, "0106", "绿地脏乱", "Untidy green space",
      "绿地内有垃圾、杂物或堆物", "Rubbish, clutter or piled items in green space",
      "绿地已清理整洁", "Green space cleaned up",
      1, WD, "landscape"),
    m(E, "0107", "焚烧垃圾树叶", "Burning rubbish or leaves",
      "露天焚烧垃圾、树叶或杂物", "Rubbish, leaves or waste burnt in the open",
      "焚烧已制止，余火熄灭，现场清理", "Burning stopped, embers out, site cleared",
      4, WH, "ecology"),
    m(E, "0108", "乱堆物料", "Materials piled in public",
      "在道路或公共区域乱堆物料", "Materials dumped on a road or public area",
      "物料已清除或规范堆放", "Materials removed or stored properly",
      1, WD, "cmb"),

    // ── Events 02 宣传广告 Advertising ──
    m(E, "0201", "非法小广告", "Illegal flyers",
      "墙面、设施上有张贴、涂写或喷涂的小广告", "Flyers pasted, written or sprayed on walls or fixtures",
      "小广告已清除，墙面恢复原貌", "Flyers removed; surface restored",
      1, WD, "cmb"),
    m(E, "0202", "违章张贴悬挂广告牌匾", "Unauthorised posters, banners or signboards",
      "未经批准张贴、悬挂广告或设置牌匾", "Advertising posted or hung, or signboard put up, without approval",
      "违规广告牌匾已拆除", "Unauthorised advertising removed",
      3, WD, "cmb"),
    m(E, "0203", "占道广告牌", "Advertising boards on the pavement",
      "在道路上摆放广告牌、灯箱", "Advertising boards or light boxes placed on the road or pavement",
      "广告牌已撤除，道路畅通", "Boards removed; way clear",
      4, WH, "cmb"),
    m(E, "0204", "街头散发广告", "Handing out flyers",
      "在街头、路口散发广告宣传品", "Flyers handed out on streets or at junctions",
      "散发行为已制止，散落物已清理", "Handing out stopped; litter cleared",
      4, WH, "cmb"),
    m(E, "0205", "户外广告设施隐患", "Unsafe outdoor advertising structure",
      "户外广告设施松动、倾斜或有坠落危险", "Outdoor advertising loose, leaning or at risk of falling",
      "已加固或拆除，隐患消除", "Structure secured or removed; hazard removed",
      4, EH, "cmb"),

    // ── Events 03 施工管理 Construction management ──
    m(E, "0301", "施工扰民", "Construction noise nuisance",
      "施工噪声超标或未经批准夜间施工", "Construction noise over limits or night work without a permit",
      "已制止违规施工，噪声达标", "Unpermitted work stopped; noise within limits",
      4, WH, "ecology"),
    m(E, "0302", "工地扬尘", "Construction site dust",
      "工地未覆盖、未洒水，扬尘明显", "Site uncovered or not watered; visible dust",
      "已覆盖洒水，扬尘得到控制", "Site covered and watered; dust under control",
      1, WD, "housing"),
    m(E, "0303", "道路遗撒", "Spillage on the road",
      "运输车辆沿途遗撒渣土、砂石或泥浆", "Spoil, gravel or mud spilt along the road by trucks",
      "遗撒物已清除，道路干净", "Spillage cleared; road clean",
      4, WH, "cmb"),
    m(E, "0304", "无证掘路", "Unlicensed road excavation",
      "未经许可开挖道路", "Road dug up without a permit",
      "已制止施工，路面恢复", "Work stopped and road surface restored",
      4, WH, "transport"),
    m(E, "0305", "施工废弃料", "Construction waste",
      "施工完毕后废弃料未清运", "Construction waste left after work ends",
      "废弃料已清运，现场整洁", "Waste cleared away; site clean",
      2, WD, "housing"),
    m(E, "0306", "工地围挡不规范", "Inadequate site hoarding",
      "工地围挡破损、缺失或不规范", "Site hoarding damaged, missing or substandard",
      "围挡已修复或规范设置", "Hoarding repaired or put up properly",
      2, WD, "housing"),

    // ── Events 04 突发事件 Emergencies ──
    m(E, "0401", "路面塌陷", "Road collapse",
      "路面出现塌陷、坑洞", "Road surface caved in or holed",
      "已设置警示并完成修复", "Warning set up and road repaired",
      2, EH, "transport"),
    m(E, "0402", "自来水管破裂", "Burst water main",
      "供水管道破裂跑水", "Water-supply pipe burst and leaking",
      "管道已抢修，供水恢复", "Pipe repaired; supply restored",
      2, EH, "water"),
    m(E, "0403", "燃气管道破裂", "Gas pipe rupture",
      "燃气管道破裂或泄漏", "Gas pipe ruptured or leaking",
      "泄漏已控制，管道修复", "Leak contained and pipe repaired",
      1, EH, "housing"),
    m(E, "0404", "下水道堵塞或破损", "Blocked or broken sewer",
      "下水道堵塞、破损或污水外溢", "Sewer blocked, broken or overflowing",
      "管道已疏通或修复，无外溢", "Sewer cleared or repaired; no overflow",
      4, EH, "water"),
    m(E, "0405", "道路积水", "Flooded road",
      "道路积水影响通行", "Standing water on the road hampers traffic",
      "积水已排除，道路通行正常", "Water drained; traffic moving normally",
      2, EH, "water"),
    m(E, "0406", "道路积雪结冰", "Snow and ice on the road",
      "道路积雪或结冰影响通行", "Snow or ice on the road hampers traffic",
      "积雪已清除，冰面已处理", "Snow cleared and ice treated",
      4, EH, "cmb"),
    m(E, "0407", "热力管道破裂", "Burst heating pipe",
      "供热管道破裂、漏水或冒汽", "Heating pipe burst, leaking or venting steam",
      "管道已抢修，供热恢复", "Pipe repaired; heating restored",
      2, EH, "heating"),
    m(E, "0408", "树木倒伏", "Fallen tree",
      "树木倒伏或折断，影响通行或安全", "Tree down or broken, blocking the way or unsafe",
      "倒伏树木已清理或扶正", "Fallen tree removed or righted",
      2, EH, "landscape"),

    // ── Events 05 街面秩序 Street order ──
    m(E, "0501", "无照经营游商", "Unlicensed street vending",
      "流动摊贩在街面无照经营", "Hawkers trading on the street without a licence",
      "游商已劝离或依法处理", "Hawkers moved on or dealt with by law",
      4, WH, "cmb"),
    m(E, "0502", "店外经营", "Trading outside the shop",
      "商户超出门窗在店外经营", "Shop trading beyond its doors and windows",
      "店外经营已整改", "Trading moved back inside",
      4, WH, "cmb"),
    m(E, "0503", "占道废品收购", "Scrap collection on the road",
      "占用道路收购、堆放废品", "Scrap bought or stockpiled on the road",
      "废品已清理，道路恢复畅通", "Scrap cleared; way open again",
      1, WD, "cmb"),
    m(E, "0504", "机动车乱停放", "Illegally parked motor vehicle",
      "机动车在禁停区域或人行道停放", "Motor vehicle parked in a no-parking zone or on the pavement",
      "车辆已驶离或依法处理", "Vehicle moved or dealt with by law",
      2, WH, "psb"),
    m(E, "0505", "非机动车乱停放", "Badly parked bicycles",
      "非机动车在停放区外乱停乱放", "Bicycles or scooters left outside parking areas",
      "车辆已规范停放", "Bicycles parked properly",
      4, WH, "cmb"),
    m(E, "0506", "露天烧烤", "Open-air barbecue",
      "在街面露天烧烤", "Barbecue cooked in the open on the street",
      "烧烤已取缔，现场清理", "Barbecue stopped; site cleared",
      4, WH, "cmb"),
    m(E, "0507", "废弃车辆", "Abandoned vehicle",
      "道路或公共区域长期停放废弃车辆", "Abandoned vehicle left on a road or public area",
      "车辆已清拖", "Vehicle towed away",
      5, WD, "psb"),

    // ── Events 06 其他事件 Other events ──
    m(E, "0601", "毁坏绿地", "Damage to green space",
      "踩踏、占用或毁坏绿地", "Green space trampled, occupied or destroyed",
      "已制止并恢复绿地", "Damage stopped and green space restored",
      1, WD, "landscape"),
    m(E, "0602", "违规砍伐树木", "Illegal tree felling",
      "未经批准砍伐、移植树木", "Trees felled or moved without approval",
      "已制止并依法处理", "Felling stopped and dealt with by law",
      4, WH, "landscape"),
    m(E, "0603", "树枝遮挡", "Overhanging branches",
      "树枝遮挡交通标志、路灯或影响通行", "Branches block traffic signs or street lights or obstruct passage",
      "树枝已修剪，遮挡消除", "Branches pruned; view clear",
      5, WD, "landscape"),
    m(E, "0604", "园林病虫害", "Plant pests and disease",
      "树木、绿地出现明显病虫害", "Trees or green space visibly infested or diseased",
      "已完成防治，病虫害得到控制", "Treatment done; pests under control",
      5, WD, "landscape"),
    m(E, "0605", "商业噪声扰民", "Commercial noise nuisance",
      "商户使用高音喇叭或设备噪声扰民", "Shops using loudspeakers or noisy equipment disturb residents",
      "噪声已制止或达标", "Noise stopped or within limits",
      1, WD, "ecology"),
    m(E, "0606", "餐饮油烟污染", "Restaurant fume pollution",
      "餐饮油烟未经净化直排", "Cooking fumes vented without filtering",
      "已安装或修复净化设施，达标排放", "Filtering installed or repaired; emissions within limits",
      10, WD, "ecology"),
    // A local addition for cases opened from energy anomalies (`db::energy_anomalies`); the
    // energy office is its default, though such a case is routed to the entity's maintaining
    // department. Migration 0007 adds the same class to catalogues seeded before it.
    m(E, "0607", "能耗异常", "Abnormal energy use",
      "计量数据显示夜间基础负荷或用能突增明显超出本单位同时段基线",
      "Metered consumption shows a night base load or a spike well above the entity's own baseline for the same hours",
      "已查明原因并整改（设备关停、漏损修复、运行时段调整），用能回落至基线",
      "Cause found and fixed (equipment switched off, leak repaired, schedule corrected); consumption back to baseline",
      5, WD, "ndrc"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn digits(s: &str, n: usize) -> bool {
        s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
    }

    #[test]
    fn majors_are_well_formed() {
        let mut seen = HashSet::new();
        for mj in MAJORS {
            assert!(KINDS.contains(&mj.kind), "kind {}", mj.kind);
            assert!(digits(mj.code, 2), "major code {}", mj.code);
            assert!(
                seen.insert((mj.kind, mj.code)),
                "duplicate major {} {}",
                mj.kind,
                mj.code
            );
            assert!(!mj.zh.trim().is_empty() && !mj.en.trim().is_empty());
        }
        assert!(MAJORS.iter().filter(|mj| mj.kind == COMPONENT).count() >= 6);
        assert!(MAJORS.iter().filter(|mj| mj.kind == EVENT).count() >= 5);
    }

    #[test]
    fn minors_are_well_formed() {
        let mut seen = HashSet::new();
        for mn in MINORS {
            assert!(KINDS.contains(&mn.kind), "kind {}", mn.kind);
            assert!(digits(mn.code, 4), "minor code {}", mn.code);
            assert!(
                seen.insert((mn.kind, mn.code)),
                "duplicate minor {} {}",
                mn.kind,
                mn.code
            );
            assert!(
                MAJORS
                    .iter()
                    .any(|mj| mj.kind == mn.kind && mn.code.starts_with(mj.code)),
                "no major for {} {}",
                mn.kind,
                mn.code
            );
            for s in [
                mn.zh,
                mn.en,
                mn.filing_zh,
                mn.filing_en,
                mn.closing_zh,
                mn.closing_en,
            ] {
                assert!(
                    !s.trim().is_empty(),
                    "empty text in {} {}",
                    mn.kind,
                    mn.code
                );
            }
            assert!(mn.limit > 0, "limit of {} {}", mn.kind, mn.code);
            assert!(UNITS.contains(&mn.unit), "unit {} of {}", mn.unit, mn.code);
            assert!(DEPTS.contains(&mn.dept), "dept {} of {}", mn.dept, mn.code);
        }
        assert!(MINORS.len() >= 70, "only {} minors", MINORS.len());
    }

    #[test]
    fn every_unit_is_used() {
        for unit in UNITS {
            assert!(
                MINORS.iter().any(|mn| mn.unit == *unit),
                "unit {unit} unused"
            );
        }
    }

    #[test]
    fn demo_handlers_have_work() {
        for dept in ["water", "landscape"] {
            let n = MINORS.iter().filter(|mn| mn.dept == dept).count();
            assert!(n >= 8, "{dept} defaults for only {n} minors");
        }
    }

    #[test]
    fn minors_per_major() {
        for mj in MAJORS {
            let n = MINORS
                .iter()
                .filter(|mn| mn.kind == mj.kind && mn.code.starts_with(mj.code))
                .count();
            let min = if mj.kind == COMPONENT { 6 } else { 5 };
            assert!(n >= min, "{} {} has only {n} minors", mj.kind, mj.code);
        }
    }
}
