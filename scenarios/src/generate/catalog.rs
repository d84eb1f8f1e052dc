//! What authorities decide: agencies, violations, licence types, lists and court texts.
//!
//! Legal bases name real national laws and regulations; the texts are short and
//! generic, as in published 双公示 data.

use credithub_protocol::record::LicenceCategory;

/// Shares of subject classes: organisations, individual businesses, natural persons.
pub(super) type SubjectShares = [u32; 3];

/// A department that exists in every division and decides records.
pub(super) struct Agency {
    /// Name suffix after the place: 市场监督管理局.
    pub name: &'static str,
    /// Short form inside document numbers: 市监 in 苏市监罚〔2024〕12号.
    pub abbr: &'static str,
    /// Relative share of penalties decided by this kind of agency.
    pub penalty_weight: u32,
    /// The violations it punishes.
    pub violations: &'static [Violation],
}

/// A kind of violation and how it is punished.
pub(super) struct Violation {
    /// Violation type (`CF_WFXW`).
    pub kind: &'static str,
    /// Facts (`CF_SY`).
    pub facts: &'static str,
    /// Legal basis of the penalty (`CF_YJ`).
    pub basis: &'static str,
    /// The certificate that a serious penalty suspends or revokes, if any.
    pub certificate: Option<&'static str>,
}

const fn v(
    kind: &'static str,
    facts: &'static str,
    basis: &'static str,
    certificate: Option<&'static str>,
) -> Violation {
    Violation {
        kind,
        facts,
        basis,
        certificate,
    }
}

/// Index of the market regulation agency in [`AGENCIES`].
pub(super) const MARKET: usize = 0;
const ECOLOGY: usize = 1;
const TAX: usize = 2;
const SAFETY: usize = 3;
const TRANSPORT: usize = 4;
const HOUSING: usize = 5;
const HEALTH: usize = 6;
const URBAN: usize = 7;
const LABOUR: usize = 8;
const CULTURE: usize = 9;
const REFORM: usize = 10;
const TOBACCO: usize = 11;

/// The agencies of every division, indexed by the constants above.
#[rustfmt::skip]
pub(super) const AGENCIES: &[Agency] = &[
    Agency { name: "市场监督管理局", abbr: "市监", penalty_weight: 34, violations: &[
        v("虚假宣传", "当事人在其网店商品详情页对商品的功能作虚假宣传，欺骗、误导消费者", "《中华人民共和国反不正当竞争法》第二十条第一款", None),
        v("违法发布广告", "当事人在宣传单中使用“国家级”“最佳”等绝对化用语", "《中华人民共和国广告法》第五十七条第一项", None),
        v("经营超过保质期的食品", "当事人在其经营场所销售超过保质期的食品", "《中华人民共和国食品安全法》第一百二十四条第一款第五项", Some("食品经营许可证")),
        v("无照经营", "当事人未依法取得营业执照从事经营活动", "《无证无照经营查处办法》第十三条", None),
        v("销售不合格产品", "当事人销售的产品经抽样检验不合格", "《中华人民共和国产品质量法》第四十九条", None),
        v("使用未经定期检验的特种设备", "当事人使用未经定期检验的电梯", "《中华人民共和国特种设备安全法》第八十四条第一项", Some("特种设备使用登记证")),
        v("未明码标价", "当事人销售商品时未按照规定明码标价", "《价格违法行为行政处罚规定》第十三条", None),
    ]},
    Agency { name: "生态环境局", abbr: "环", penalty_weight: 11, violations: &[
        v("超标排放大气污染物", "当事人排放的大气污染物经监测超过国家规定的排放标准", "《中华人民共和国大气污染防治法》第九十九条第二项", Some("排污许可证")),
        v("未批先建", "当事人建设项目环境影响评价文件未经批准擅自开工建设", "《中华人民共和国环境影响评价法》第三十一条第一款", None),
        v("危险废物贮存不规范", "当事人未按照国家有关规定贮存危险废物", "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第六项", None),
        v("无证排污", "当事人未取得排污许可证排放污染物", "《排污许可管理条例》第三十三条第一项", None),
    ]},
    Agency { name: "税务局", abbr: "税", penalty_weight: 11, violations: &[
        v("未按期申报", "当事人未按照规定的期限办理纳税申报和报送纳税资料", "《中华人民共和国税收征收管理法》第六十二条", None),
        v("偷税", "当事人通过少列收入等手段，不缴或者少缴应纳税款", "《中华人民共和国税收征收管理法》第六十三条第一款", None),
        v("未按规定开具发票", "当事人未按照规定开具发票", "《中华人民共和国发票管理办法》第三十三条", None),
        v("丢失发票", "当事人丢失增值税专用发票", "《中华人民共和国发票管理办法》第三十五条", None),
    ]},
    Agency { name: "应急管理局", abbr: "应急", penalty_weight: 8, violations: &[
        v("未按规定开展安全生产教育培训", "当事人未按照规定对从业人员进行安全生产教育和培训", "《中华人民共和国安全生产法》第九十七条第三项", None),
        v("未采取措施消除事故隐患", "当事人对检查发现的事故隐患未采取措施消除", "《中华人民共和国安全生产法》第一百零二条", None),
        v("未经许可经营危险化学品", "当事人未取得危险化学品经营许可证经营危险化学品", "《危险化学品安全管理条例》第七十七条第三款", Some("危险化学品经营许可证")),
    ]},
    Agency { name: "交通运输局", abbr: "交", penalty_weight: 10, violations: &[
        v("未取得道路运输经营许可擅自从事经营", "当事人未取得道路运输经营许可，擅自从事道路旅客运输经营", "《中华人民共和国道路运输条例》第六十三条", None),
        v("车辆超限运输", "当事人车辆在公路上擅自超限行驶", "《公路安全保护条例》第六十四条", None),
        v("未按规定维护和检测运输车辆", "当事人未按规定维护和检测运输车辆", "《中华人民共和国道路运输条例》第七十条第一款", Some("道路运输经营许可证")),
    ]},
    Agency { name: "住房和城乡建设局", abbr: "住建", penalty_weight: 7, violations: &[
        v("未取得施工许可证擅自施工", "当事人未取得施工许可证擅自开工建设", "《建筑工程施工许可管理办法》第十二条", None),
        v("违反建筑节能强制性标准", "当事人未按照民用建筑节能强制性标准进行设计", "《民用建筑节能条例》第三十九条", None),
        v("转包工程", "当事人将承包的工程转包", "《建设工程质量管理条例》第六十二条第一款", None),
    ]},
    Agency { name: "卫生健康委员会", abbr: "卫", penalty_weight: 5, violations: &[
        v("未取得医疗机构执业许可证擅自执业", "当事人未取得《医疗机构执业许可证》擅自执业", "《医疗机构管理条例》第四十三条", None),
        v("未取得公共场所卫生许可证擅自营业", "当事人未依法取得公共场所卫生许可证擅自营业", "《公共场所卫生管理条例实施细则》第三十五条", None),
        v("使用非卫生技术人员", "当事人使用非卫生技术人员从事医疗卫生技术工作", "《医疗机构管理条例》第四十七条", Some("医疗机构执业许可证")),
    ]},
    Agency { name: "城市管理局", abbr: "城管", penalty_weight: 8, violations: &[
        v("擅自占用城市道路", "当事人擅自占用城市道路从事经营活动", "《城市道路管理条例》第四十二条", None),
        v("擅自设置户外广告设施", "当事人未经批准擅自设置大型户外广告设施", "《城市市容和环境卫生管理条例》第三十六条", None),
        v("擅自处置建筑垃圾", "当事人未经核准擅自处置建筑垃圾", "《城市建筑垃圾管理规定》第二十五条", None),
    ]},
    Agency { name: "人力资源和社会保障局", abbr: "人社", penalty_weight: 3, violations: &[
        v("克扣、拖欠劳动者工资", "当事人克扣、无故拖欠劳动者工资", "《劳动保障监察条例》第二十六条", None),
        v("违法延长劳动者工作时间", "当事人违反规定延长劳动者工作时间", "《劳动保障监察条例》第二十五条", None),
        v("未办理社会保险登记", "当事人未按规定办理社会保险登记", "《中华人民共和国社会保险法》第八十四条", Some("劳务派遣经营许可证")),
    ]},
    Agency { name: "文化广电和旅游局", abbr: "文旅", penalty_weight: 3, violations: &[
        v("未经许可经营娱乐场所", "当事人未经许可擅自从事娱乐场所经营活动", "《娱乐场所管理条例》第四十一条", None),
        v("未与旅游者签订书面合同", "当事人未与旅游者签订书面旅游合同", "《旅行社条例》第五十五条", None),
        v("接纳未成年人进入上网服务场所", "当事人接纳未成年人进入互联网上网服务营业场所", "《互联网上网服务营业场所管理条例》第三十一条第二项", Some("娱乐经营许可证")),
    ]},
    Agency { name: "发展和改革委员会", abbr: "发改", penalty_weight: 0, violations: &[] },
    Agency { name: "烟草专卖局", abbr: "烟", penalty_weight: 2, violations: &[
        v("无证经营烟草制品", "当事人无烟草专卖零售许可证经营烟草制品零售业务", "《中华人民共和国烟草专卖法实施条例》第五十七条", None),
    ]},
];

/// A kind of licence an agency grants.
pub(super) struct LicenceType {
    /// The granting agency (index into [`AGENCIES`]).
    pub agency: usize,
    /// Relative share among licences.
    pub weight: u32,
    /// Certificate name (`XK_XKZS`).
    pub certificate: &'static str,
    /// Decision document name (`XK_XKWS`).
    pub document: &'static str,
    /// Licence category (`XK_XKLB`).
    pub category: LicenceCategory,
    /// Possible contents (`XK_NR`).
    pub contents: &'static [&'static str],
    /// Validity in years; `None` for no end.
    pub years: Option<u16>,
    /// Licence number template: `{P}` province abbreviation, `{D}` division code,
    /// `{A}` the place's short form, `{Y}` year, `{U}` the subject's identifier, `{N5}` a
    /// serial of at least 5 digits.
    pub number: &'static str,
    /// Who holds this kind of licence.
    pub subjects: SubjectShares,
}

#[allow(clippy::too_many_arguments)] // one row of the table below
const fn lt(
    agency: usize,
    weight: u32,
    certificate: &'static str,
    document: &'static str,
    category: LicenceCategory,
    contents: &'static [&'static str],
    years: Option<u16>,
    number: &'static str,
    subjects: SubjectShares,
) -> LicenceType {
    LicenceType {
        agency,
        weight,
        certificate,
        document,
        category,
        contents,
        years,
        number,
        subjects,
    }
}

use LicenceCategory::{Approval, Franchise, Ordinary, Other, Registration, Verification};

const DECISION: &str = "准予行政许可决定书";

/// Licence types, with their shares.
#[rustfmt::skip]
pub(super) const LICENCES: &[LicenceType] = &[
    lt(MARKET, 22, "食品经营许可证", DECISION, Ordinary, &["预包装食品销售（含冷藏冷冻食品）", "热食类食品制售", "散装食品销售（不含冷藏冷冻食品）", "保健食品销售"], Some(5), "JY1{D}{N7}", [50, 50, 0]),
    lt(MARKET, 22, "营业执照", "准予设立登记通知书", Registration, &["企业设立登记", "变更登记（经营范围）", "变更登记（住所）", "变更登记（法定代表人）"], None, "{U}", [70, 30, 0]),
    lt(MARKET, 5, "特种设备使用登记证", "特种设备使用登记决定书", Registration, &["电梯使用登记", "压力容器使用登记", "场（厂）内专用机动车辆使用登记"], None, "梯{P}{D}{N5}({Y})", [100, 0, 0]),
    lt(ECOLOGY, 7, "排污许可证", DECISION, Ordinary, &["排污许可证核发", "排污许可证延续", "排污许可证变更"], Some(5), "{U}{N3}V", [90, 10, 0]),
    lt(TRANSPORT, 8, "道路运输经营许可证", DECISION, Ordinary, &["道路普通货物运输", "道路旅客运输（班车客运）", "机动车维修经营（二类）", "道路危险货物运输"], Some(4), "{P}交运管许可字{D}{N6}号", [80, 20, 0]),
    lt(TRANSPORT, 7, "道路运输从业人员从业资格证", "从业资格考试合格决定书", Approval, &["道路旅客运输驾驶员", "道路货物运输驾驶员", "网络预约出租汽车驾驶员"], Some(6), "{D}{Y}{N8}", [0, 0, 100]),
    lt(HOUSING, 6, "建筑工程施工许可证", DECISION, Ordinary, &["厂房新建工程", "办公楼新建工程", "住宅小区新建工程", "厂房改扩建工程"], None, "{D}{Y}{N6}0101", [100, 0, 0]),
    lt(HEALTH, 4, "医疗机构执业许可证", DECISION, Ordinary, &["诊所执业登记", "门诊部执业登记", "医疗机构校验"], Some(5), "PDY{N8}{D}", [70, 30, 0]),
    lt(HEALTH, 4, "公共场所卫生许可证", DECISION, Ordinary, &["住宿场所", "美容美发场所", "沐浴场所"], Some(4), "{P}卫公字〔{Y}〕第{D}{N6}号", [50, 50, 0]),
    lt(SAFETY, 3, "危险化学品经营许可证", DECISION, Ordinary, &["危险化学品经营（不带储存）", "危险化学品经营（带储存）"], Some(3), "{P}{D}危化经字〔{Y}〕{N6}", [100, 0, 0]),
    lt(CULTURE, 3, "娱乐经营许可证", DECISION, Ordinary, &["歌舞娱乐场所", "游艺娱乐场所"], Some(2), "{A}文娱经字〔{Y}〕{N4}号", [70, 30, 0]),
    lt(LABOUR, 2, "劳务派遣经营许可证", DECISION, Ordinary, &["劳务派遣经营"], Some(3), "{D}{Y}{N4}", [100, 0, 0]),
    lt(REFORM, 1, "项目核准批复", "项目核准决定书", Verification, &["新建厂房项目核准", "技术改造项目核准", "光伏发电项目核准"], Some(2), "{A}发改许可〔{Y}〕{N4}号", [100, 0, 0]),
    lt(TOBACCO, 5, "烟草专卖零售许可证", DECISION, Franchise, &["卷烟、雪茄烟零售"], Some(5), "{D}{N6}", [20, 80, 0]),
    lt(URBAN, 1, "户外广告设施设置许可", DECISION, Other, &["户外广告设施设置", "店招标牌设置"], Some(3), "{A}城管广许〔{Y}〕{N5}号", [60, 40, 0]),
];

/// A red or black list kept by an agency.
pub(super) struct ListType {
    /// The keeping agency (index into [`AGENCIES`]).
    pub agency: usize,
    /// Relative share among lists of its colour.
    pub weight: u32,
    /// The list's name.
    pub name: &'static str,
    /// Reasons for listing.
    pub reasons: &'static [&'static str],
    /// Legal basis.
    pub basis: &'static str,
    /// Listing term in years.
    pub years: u16,
    /// Who gets listed.
    pub subjects: SubjectShares,
}

/// Black lists (严重失信主体名单).
#[rustfmt::skip]
pub(super) const BLACK_LISTS: &[ListType] = &[
    ListType { agency: TAX, weight: 30, name: "重大税收违法失信主体", reasons: &["虚开增值税专用发票", "偷税数额在100万元以上且占应纳税额10%以上", "逃避追缴欠税", "骗取出口退税"], basis: "《重大税收违法失信主体信息公布管理办法》第六条", years: 3, subjects: [85, 10, 5] },
    ListType { agency: MARKET, weight: 25, name: "市场监督管理严重违法失信名单", reasons: &["提交虚假材料取得公司登记", "因食品安全违法行为受到较重行政处罚", "被吊销营业执照且受到其他较重行政处罚"], basis: "《市场监督管理严重违法失信名单管理办法》第二条", years: 3, subjects: [80, 20, 0] },
    ListType { agency: LABOUR, weight: 20, name: "拖欠农民工工资失信联合惩戒对象名单", reasons: &["克扣、无故拖欠农民工工资达到认定拒不支付劳动报酬罪数额标准", "因拖欠农民工工资违法行为引发群体性事件"], basis: "《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》第五条", years: 3, subjects: [75, 5, 20] },
    ListType { agency: SAFETY, weight: 10, name: "安全生产严重失信主体名单", reasons: &["发生较大生产安全事故负有责任", "未依法取得安全生产许可擅自从事生产经营活动"], basis: "《安全生产严重失信主体名单管理办法》第八条", years: 3, subjects: [100, 0, 0] },
    ListType { agency: ECOLOGY, weight: 10, name: "环境信用严重失信企业名单", reasons: &["通过暗管、渗井等逃避监管的方式排放水污染物", "篡改、伪造自动监测数据"], basis: "《企业环境信用评价办法（试行）》第二十条", years: 3, subjects: [100, 0, 0] },
    ListType { agency: TRANSPORT, weight: 5, name: "交通运输严重失信主体名单", reasons: &["发生重大及以上责任事故", "非法营运被多次查处"], basis: "《交通运输行业信用管理规定（试行）》第十二条", years: 3, subjects: [70, 10, 20] },
];

/// Red lists (守信红名单).
#[rustfmt::skip]
pub(super) const RED_LISTS: &[ListType] = &[
    ListType { agency: TAX, weight: 45, name: "纳税信用A级纳税人", reasons: &["年度纳税信用评价为A级"], basis: "《纳税信用管理办法（试行）》第十九条", years: 1, subjects: [100, 0, 0] },
    ListType { agency: MARKET, weight: 25, name: "守合同重信用企业", reasons: &["连续两年守合同重信用", "合同管理制度健全、履约率高"], basis: "《守合同重信用企业公示工作指导意见》", years: 2, subjects: [100, 0, 0] },
    ListType { agency: REFORM, weight: 15, name: "守信激励对象", reasons: &["连续三年无不良信用记录", "获评诚信示范企业"], basis: "《关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》", years: 2, subjects: [100, 0, 0] },
    ListType { agency: LABOUR, weight: 15, name: "劳动保障守法诚信企业", reasons: &["劳动保障守法诚信等级评价为A级"], basis: "《企业劳动保障守法诚信等级评价办法》第八条", years: 2, subjects: [100, 0, 0] },
];

/// Obligations fixed by judgments; `{}` is replaced by an amount in yuan.
pub(super) const OBLIGATIONS: &[&str] = &[
    "支付货款人民币{}元及逾期付款利息",
    "偿还借款本金人民币{}元及利息",
    "支付工程款人民币{}元",
    "支付租金人民币{}元及违约金",
    "赔偿损失人民币{}元",
    "支付劳动报酬人民币{}元",
];

/// Performance of the obligation.
pub(super) const PERFORMANCE: &[(&str, u32)] = &[("全部未履行", 85), ("部分履行", 15)];

/// Dishonest conduct (失信情形).
pub(super) const CONDUCT: &[&str] = &[
    "有履行能力而拒不履行生效法律文书确定义务",
    "违反财产报告制度",
    "违反限制消费令",
    "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
    "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
];

/// Kinds of judgment used as enforcement basis: (case type, document name).
pub(super) const BASES: &[(&str, &str)] = &[
    ("民初", "民事判决书"),
    ("民初", "民事调解书"),
    ("民终", "民事判决书"),
    ("商初", "民事判决书"),
];
