/**
 * The areas dimension: the 31 provincial-level divisions of mainland China with their
 * prefecture-level cities (the four municipalities with their districts), and how much of the
 * traffic each draws. Province weights follow the rough shape of online retail volume (Guangdong,
 * Zhejiang and Jiangsu far ahead, Tibet and Qinghai far behind); within a province the capital
 * (listed first) and the cities marked `*` draw more.
 */

interface ProvinceSpec {
  province: string;
  weight: number;
  cities: string[];
}

const PROVINCES: ProvinceSpec[] = [
  { province: '广东省', weight: 16, cities: ['广州市', '*深圳市', '*东莞市', '*佛山市', '珠海市', '汕头市', '惠州市', '中山市', '江门市', '湛江市', '茂名市', '肇庆市', '韶关市', '梅州市', '汕尾市', '河源市', '阳江市', '清远市', '潮州市', '揭阳市', '云浮市'] },
  { province: '浙江省', weight: 11, cities: ['杭州市', '*宁波市', '*温州市', '*金华市', '嘉兴市', '湖州市', '绍兴市', '衢州市', '舟山市', '台州市', '丽水市'] },
  { province: '江苏省', weight: 11, cities: ['南京市', '*苏州市', '*无锡市', '常州市', '徐州市', '南通市', '连云港市', '淮安市', '盐城市', '扬州市', '镇江市', '泰州市', '宿迁市'] },
  { province: '上海市', weight: 7, cities: ['浦东新区', '*闵行区', '徐汇区', '黄浦区', '长宁区', '静安区', '普陀区', '虹口区', '杨浦区', '宝山区', '嘉定区', '松江区', '青浦区', '奉贤区', '金山区', '崇明区'] },
  { province: '北京市', weight: 7, cities: ['朝阳区', '*海淀区', '东城区', '西城区', '丰台区', '石景山区', '通州区', '昌平区', '大兴区', '顺义区', '房山区'] },
  { province: '山东省', weight: 7, cities: ['济南市', '*青岛市', '*烟台市', '潍坊市', '淄博市', '枣庄市', '东营市', '济宁市', '泰安市', '威海市', '日照市', '临沂市', '德州市', '聊城市', '滨州市', '菏泽市'] },
  { province: '福建省', weight: 4.5, cities: ['福州市', '*厦门市', '*泉州市', '莆田市', '三明市', '漳州市', '南平市', '龙岩市', '宁德市'] },
  { province: '四川省', weight: 4.5, cities: ['成都市', '*绵阳市', '自贡市', '攀枝花市', '泸州市', '德阳市', '广元市', '遂宁市', '内江市', '乐山市', '南充市', '眉山市', '宜宾市', '广安市', '达州市', '雅安市', '巴中市', '资阳市'] },
  { province: '河南省', weight: 4.5, cities: ['郑州市', '*洛阳市', '开封市', '平顶山市', '安阳市', '鹤壁市', '新乡市', '焦作市', '濮阳市', '许昌市', '漯河市', '三门峡市', '南阳市', '商丘市', '信阳市', '周口市', '驻马店市'] },
  { province: '湖北省', weight: 3.5, cities: ['武汉市', '*宜昌市', '*襄阳市', '黄石市', '十堰市', '鄂州市', '荆门市', '孝感市', '荆州市', '黄冈市', '咸宁市', '随州市', '恩施土家族苗族自治州'] },
  { province: '湖南省', weight: 3, cities: ['长沙市', '株洲市', '湘潭市', '衡阳市', '邵阳市', '岳阳市', '常德市', '张家界市', '益阳市', '郴州市', '永州市', '怀化市', '娄底市', '湘西土家族苗族自治州'] },
  { province: '河北省', weight: 3, cities: ['石家庄市', '*唐山市', '*保定市', '秦皇岛市', '邯郸市', '邢台市', '张家口市', '承德市', '沧州市', '廊坊市', '衡水市'] },
  { province: '安徽省', weight: 3, cities: ['合肥市', '*芜湖市', '蚌埠市', '淮南市', '马鞍山市', '淮北市', '铜陵市', '安庆市', '黄山市', '滁州市', '阜阳市', '宿州市', '六安市', '亳州市', '池州市', '宣城市'] },
  { province: '重庆市', weight: 2.2, cities: ['渝北区', '*渝中区', '江北区', '南岸区', '九龙坡区', '沙坪坝区', '巴南区', '万州区', '涪陵区', '永川区'] },
  { province: '天津市', weight: 2, cities: ['滨海新区', '和平区', '河西区', '南开区', '河东区', '河北区', '红桥区', '东丽区', '西青区', '津南区', '北辰区', '武清区'] },
  { province: '陕西省', weight: 2, cities: ['西安市', '宝鸡市', '咸阳市', '铜川市', '渭南市', '延安市', '汉中市', '榆林市', '安康市', '商洛市'] },
  { province: '辽宁省', weight: 2, cities: ['沈阳市', '*大连市', '鞍山市', '抚顺市', '本溪市', '丹东市', '锦州市', '营口市', '阜新市', '辽阳市', '盘锦市', '铁岭市', '朝阳市', '葫芦岛市'] },
  { province: '江西省', weight: 1.8, cities: ['南昌市', '*赣州市', '景德镇市', '萍乡市', '九江市', '新余市', '鹰潭市', '吉安市', '宜春市', '抚州市', '上饶市'] },
  { province: '广西壮族自治区', weight: 1.6, cities: ['南宁市', '*柳州市', '*桂林市', '梧州市', '北海市', '防城港市', '钦州市', '贵港市', '玉林市', '百色市', '贺州市', '河池市', '来宾市', '崇左市'] },
  { province: '云南省', weight: 1.4, cities: ['昆明市', '曲靖市', '玉溪市', '保山市', '昭通市', '丽江市', '普洱市', '临沧市', '大理白族自治州', '西双版纳傣族自治州'] },
  { province: '山西省', weight: 1.2, cities: ['太原市', '大同市', '阳泉市', '长治市', '晋城市', '朔州市', '晋中市', '运城市', '忻州市', '临汾市', '吕梁市'] },
  { province: '黑龙江省', weight: 1.1, cities: ['哈尔滨市', '*大庆市', '齐齐哈尔市', '鸡西市', '鹤岗市', '双鸭山市', '伊春市', '佳木斯市', '七台河市', '牡丹江市', '黑河市', '绥化市'] },
  { province: '贵州省', weight: 0.9, cities: ['贵阳市', '*遵义市', '六盘水市', '安顺市', '毕节市', '铜仁市', '黔东南苗族侗族自治州', '黔南布依族苗族自治州', '黔西南布依族苗族自治州'] },
  { province: '吉林省', weight: 0.8, cities: ['长春市', '*吉林市', '四平市', '辽源市', '通化市', '白山市', '松原市', '白城市', '延边朝鲜族自治州'] },
  { province: '内蒙古自治区', weight: 0.7, cities: ['呼和浩特市', '*包头市', '*鄂尔多斯市', '乌海市', '赤峰市', '通辽市', '呼伦贝尔市', '巴彦淖尔市', '乌兰察布市'] },
  { province: '新疆维吾尔自治区', weight: 0.6, cities: ['乌鲁木齐市', '克拉玛依市', '吐鲁番市', '哈密市', '喀什地区', '伊犁哈萨克自治州'] },
  { province: '甘肃省', weight: 0.5, cities: ['兰州市', '嘉峪关市', '金昌市', '白银市', '天水市', '武威市', '张掖市', '平凉市', '酒泉市', '庆阳市', '定西市', '陇南市'] },
  { province: '海南省', weight: 0.5, cities: ['海口市', '*三亚市', '儋州市', '三沙市'] },
  { province: '宁夏回族自治区', weight: 0.2, cities: ['银川市', '石嘴山市', '吴忠市', '固原市', '中卫市'] },
  { province: '青海省', weight: 0.15, cities: ['西宁市', '海东市', '海西蒙古族藏族自治州'] },
  { province: '西藏自治区', weight: 0.1, cities: ['拉萨市', '日喀则市', '昌都市', '林芝市', '山南市', '那曲市'] },
];

export interface Area {
  id: number;
  province: string;
  city: string;
  /** share of the traffic, relative to the other areas */
  weight: number;
}

/** Capital: 4, a marked major city: 2.5, the rest: 1 declining slowly down the list. */
function cityWeight(index: number, marked: boolean): number {
  if (index === 0) return 4;
  if (marked) return 2.5;
  return 1 / (1 + 0.08 * index);
}

/** Every area, ids 1.. in list order. The same for every seed: areas are reference data. */
export const AREAS: readonly Area[] = (() => {
  const areas: Area[] = [];
  for (const p of PROVINCES) {
    const weights = p.cities.map((c, i) => cityWeight(i, c.startsWith('*')));
    const total = weights.reduce((s, w) => s + w, 0);
    p.cities.forEach((c, i) => {
      areas.push({ id: areas.length + 1, province: p.province, city: c.replace(/^\*/, ''), weight: (p.weight * (weights[i] as number)) / total });
    });
  }
  return areas;
})();

/**
 * First octets of IPv4 blocks allocated to Chinese networks (APNIC), for plausible client IPs.
 * The remaining octets are hashed, so an address says nothing about a real host.
 */
export const IP_FIRST_OCTETS = [36, 39, 42, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221, 222, 223] as const;
