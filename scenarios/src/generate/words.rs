//! Word lists for names: people, companies, shops, places.
//!
//! The lists are small and plain on purpose; combined, they give millions of distinct,
//! plausible names.

/// Common Chinese surnames, most frequent first (the generator skews towards the front).
pub(super) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴",
    "欧阳", "司马", "诸葛", "上官",
];

/// Characters used in given names.
pub(super) const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "鹏", "辉", "建", "国", "红",
    "文", "斌", "宇", "浩", "凯", "俊", "帆", "琳", "婷", "雪", "晨", "欣", "怡", "佳", "思", "雨",
    "子", "梓", "涵", "轩", "博", "泽", "昊", "然", "睿", "嘉", "志", "春", "海", "林", "峰", "波",
    "亮", "荣", "慧", "燕", "晓", "德", "永", "金", "福", "生", "成", "龙", "新", "东", "宏", "云",
];

/// Characters for two-character trade names (字号) such as 恒远, 华信.
pub(super) const TRADE: &[&str] = &[
    "恒", "远", "华", "信", "鑫", "源", "泰", "达", "盛", "昌", "隆", "丰", "宏", "瑞", "祥", "德",
    "佳", "美", "新", "正", "和", "安", "康", "兴", "旺", "福", "利", "通", "诚", "汇", "金", "银",
    "星", "辰", "宇", "创", "博", "睿", "智", "联", "合", "众", "中", "天", "海", "江", "润", "泽",
    "晟", "骏", "腾", "飞", "嘉", "禾", "永", "久", "长", "宝", "顺", "益", "凯", "卓", "越", "启",
    "明", "光", "锦", "绣", "鼎", "峰", "瀚", "亿", "万", "千", "百", "群", "协", "力", "友", "邦",
];

/// Industry parts of company names (行业表述).
pub(super) const INDUSTRIES: &[&str] = &[
    "精密机械",
    "电子科技",
    "信息技术",
    "网络科技",
    "贸易",
    "进出口",
    "建设工程",
    "建筑装饰工程",
    "物流",
    "供应链管理",
    "餐饮管理",
    "食品",
    "生物科技",
    "医药",
    "医疗器械",
    "化工",
    "新材料",
    "纺织",
    "服饰",
    "家具",
    "印务",
    "包装材料",
    "环保科技",
    "新能源",
    "光电",
    "智能装备",
    "汽车零部件",
    "汽车销售服务",
    "房地产开发",
    "物业管理",
    "人力资源",
    "劳务",
    "文化传媒",
    "广告",
    "教育科技",
    "旅游开发",
    "酒店管理",
    "农业发展",
    "建材",
    "五金",
    "电气",
    "塑胶",
    "金属制品",
    "模具",
    "软件",
    "商贸",
    "实业",
    "投资管理",
];

/// Legal forms of companies, with weights (limited companies far outnumber joint-stock ones).
pub(super) const COMPANY_FORMS: &[(&str, u32)] = &[("有限公司", 92), ("股份有限公司", 8)];

/// Kinds of public institutions (事业单位), for organisations with authority 1 category 2.
pub(super) const INSTITUTIONS: &[&str] = &[
    "职业培训中心",
    "检验检测中心",
    "人民医院",
    "中医院",
    "妇幼保健院",
    "实验学校",
    "图书馆",
    "文化馆",
    "疾病预防控制中心",
    "不动产登记中心",
];

/// Kinds of social organisations (社会组织), for authority 5.
pub(super) const SOCIAL_ORGS: &[&str] = &[
    "行业协会",
    "商会",
    "慈善基金会",
    "社会工作服务中心",
    "养老服务中心",
    "培训学校",
    "学会",
    "志愿者协会",
];

/// Towns and subdistricts used in individual business names. Generic on purpose: they
/// read as plausible in any county.
pub(super) const TOWNS: &[&str] = &[
    "城关镇",
    "城南街道",
    "城北街道",
    "城东街道",
    "城西街道",
    "新城街道",
    "开发区",
    "高新区",
    "玉山镇",
    "张浦镇",
    "周庄镇",
    "花桥镇",
    "新桥镇",
    "石桥镇",
    "古城街道",
    "东湖街道",
    "南湖街道",
    "北苑街道",
    "西山镇",
    "龙泉镇",
    "白马镇",
    "桃源镇",
    "金桥镇",
    "青山镇",
    "清水镇",
    "长安镇",
];

/// Shop kinds for individual businesses (个体工商户).
pub(super) const SHOPS: &[&str] = &[
    "小吃店",
    "便利店",
    "五金店",
    "理发店",
    "副食品店",
    "烟酒店",
    "服装店",
    "水果店",
    "汽车修理部",
    "餐馆",
    "面馆",
    "超市",
    "家电维修部",
    "美容美发店",
    "手机店",
    "茶叶店",
    "药店",
    "早餐店",
    "快递代收点",
    "干洗店",
    "文具店",
    "建材经营部",
    "百货商店",
    "电动车维修部",
];

/// One-character abbreviations of province-level divisions, by their two code digits.
pub(super) const PROVINCE_ABBR: &[(u32, &str)] = &[
    (11, "京"),
    (12, "津"),
    (13, "冀"),
    (14, "晋"),
    (15, "蒙"),
    (21, "辽"),
    (22, "吉"),
    (23, "黑"),
    (31, "沪"),
    (32, "苏"),
    (33, "浙"),
    (34, "皖"),
    (35, "闽"),
    (36, "赣"),
    (37, "鲁"),
    (41, "豫"),
    (42, "鄂"),
    (43, "湘"),
    (44, "粤"),
    (45, "桂"),
    (46, "琼"),
    (50, "渝"),
    (51, "川"),
    (52, "贵"),
    (53, "云"),
    (54, "藏"),
    (61, "陕"),
    (62, "甘"),
    (63, "青"),
    (64, "宁"),
    (65, "新"),
];

/// Retired GB/T 2260 codes that still appear inside identifiers issued before the
/// division changed (e.g. Wujiang city 320584 became Wujiang district 320509).
pub(super) const RETIRED: &[(u32, &str)] = &[
    (320584, "吴江市"),
    (330183, "富阳市"),
    (330185, "临安市"),
    (320683, "通州市"),
    (320107, "下关区"),
    (320103, "白下区"),
    (320405, "戚墅堰区"),
    (320802, "清河区"),
    (320811, "清浦区"),
    (330103, "下城区"),
    (330104, "江干区"),
    (110103, "崇文区"),
    (110104, "宣武区"),
    (310103, "卢湾区"),
    (310108, "闸北区"),
    (310230, "崇明县"),
    (370181, "章丘市"),
    (370125, "济阳县"),
    (440183, "增城市"),
    (440184, "从化市"),
    (510124, "郫县"),
    (130182, "藁城市"),
    (120221, "宁河县"),
    (120223, "静海县"),
];

/// The one-character abbreviation of the province containing `code` (`苏` for 320583).
pub(super) fn province_abbr(code: u32) -> &'static str {
    let p = code / 10_000;
    PROVINCE_ABBR
        .iter()
        .find(|(d, _)| *d == p)
        .map_or("中", |(_, a)| a)
}

/// Suffixes stripped from division names to get the place part of company names.
const PLACE_SUFFIXES: &[&str] = &[
    "自治县",
    "自治州",
    "自治旗",
    "特别行政区",
    "自治区",
    "林区",
    "地区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
];

/// The place part of a division name used in company names: `苏州市` → `苏州`. Names
/// that would shrink below two characters stay whole (`沙县`).
pub(super) fn place_stem(name: &str) -> &str {
    for suffix in PLACE_SUFFIXES {
        if let Some(stem) = name.strip_suffix(suffix) {
            if stem.chars().count() >= 2 {
                return stem;
            }
            return name;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_abbreviations() {
        assert_eq!(place_stem("苏州市"), "苏州");
        assert_eq!(place_stem("昆山市"), "昆山");
        assert_eq!(place_stem("沙县"), "沙县");
        assert_eq!(place_stem("江苏省"), "江苏");
        assert_eq!(place_stem("延边朝鲜族自治州"), "延边朝鲜族");
        assert_eq!(province_abbr(320583), "苏");
        assert_eq!(province_abbr(110105), "京");
    }
}
