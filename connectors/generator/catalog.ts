/**
 * The dimensions the traffic runs on: areas, users, products, ads and channels, built from the
 * seed. Users live in typed arrays (a million of them cost a few MB); their names and creation
 * times are made when their rows are written.
 */
import type { ProductRow, UserRow } from './actions.js';
import { formatCents } from './actions.js';
import { AREAS, IP_FIRST_OCTETS, type Area } from './geography.js';
import { hashInts, Random, WeightedChoice, zipfWeights } from './random.js';
import { SESSION } from './traffic-shape.js';
import type { ZonedClock } from './zoned-time.js';

/** Acquisition channels of users and traffic sources of sessions, with their shares. */
const CHANNELS: ReadonlyArray<readonly [string, number]> = [
  ['wechat', 16],
  ['appstore', 14],
  ['douyin', 13],
  ['huawei', 12],
  ['xiaomi', 9],
  ['oppo', 7],
  ['vivo', 7],
  ['kuaishou', 6],
  ['baidu', 6],
  ['organic', 6],
  ['weibo', 4],
];

interface CategorySpec {
  category: string;
  share: number;
  minCents: number;
  maxCents: number;
  items: string[];
}

/** Price ranges in cents. 虚拟充值 (top-ups) are the small-amount goods that brushing uses. */
const CATEGORIES: CategorySpec[] = [
  { category: '食品生鲜', share: 18, minCents: 590, maxCents: 29_900, items: ['坚果礼盒', '纯牛奶', '五常大米', '咖啡豆', '应季水果', '零食大礼包'] },
  { category: '服饰鞋包', share: 16, minCents: 2_900, maxCents: 129_900, items: ['纯棉T恤', '牛仔裤', '连衣裙', '运动鞋', '双肩包', '羽绒服'] },
  { category: '美妆个护', share: 12, minCents: 1_900, maxCents: 89_900, items: ['保湿面霜', '口红', '洗面奶', '防晒霜', '洗发水'] },
  { category: '家居日用', share: 12, minCents: 590, maxCents: 59_900, items: ['收纳箱', '床品四件套', '保温杯', '抽纸', '拖把'] },
  { category: '手机数码', share: 10, minCents: 9_900, maxCents: 899_900, items: ['智能手机', '蓝牙耳机', '智能手表', '充电宝', '平板电脑'] },
  { category: '家用电器', share: 8, minCents: 9_900, maxCents: 599_900, items: ['空气炸锅', '电饭煲', '扫地机器人', '吹风机', '净水器'] },
  { category: '母婴玩具', share: 7, minCents: 1_990, maxCents: 99_900, items: ['纸尿裤', '婴儿奶粉', '积木', '儿童绘本', '婴儿推车'] },
  { category: '电脑办公', share: 6, minCents: 4_900, maxCents: 1_299_900, items: ['笔记本电脑', '机械键盘', '无线鼠标', '显示器', '打印机'] },
  { category: '虚拟充值', share: 6, minCents: 100, maxCents: 990, items: ['话费充值', '视频会员', '游戏点卡', '流量包'] },
  { category: '图书文娱', share: 5, minCents: 990, maxCents: 29_900, items: ['长篇小说', '教辅资料', '漫画', '文具套装'] },
];
const SMALL_AMOUNT_CATEGORY = '虚拟充值';

const BRANDS = ['星辰', '云川', '青禾', '北极光', '山海', '小满', '拾光', '朗悦', '沐言', '锦程', '悦享', '森屿', '知白', '半岛'];
const VARIANTS = ['经典款', '升级版', 'Pro', 'Max', '轻薄款', '礼盒装', '家庭装', '标准版', '限定款', '青春版'];
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍红鹏飞辉宇浩然子轩梓涵一诺欣怡雨泽晨阳思雨佳琪俊杰文博嘉怡若曦';

export const PAGES_STATIC = ['/home', '/search', '/cart', '/checkout', '/user/center', '/promotion/flash-sale'] as const;

export interface Product {
  id: number;
  name: string;
  category: string;
  priceCents: number;
}

export interface Ad {
  id: number;
  /** the ad's click-through multiplier around the base CTR */
  ctrFactor: number;
}

/** A price a shop would print: ¥1,299.00 or ¥59.90, from a log-uniform draw between the bounds. */
function shopPrice(random: Random, minCents: number, maxCents: number): number {
  const raw = Math.exp(random.between(Math.log(minCents), Math.log(maxCents)));
  const yuan = Math.round(raw / 100);
  if (yuan >= 100) return (yuan - (yuan % 10) + 9) * 100;
  return Math.max(minCents, Math.round(raw / 10) * 10);
}

export interface CatalogOptions {
  seed: number;
  users: number;
  products: number;
  ads: number;
}

export class Catalog {
  readonly areas: readonly Area[] = AREAS;
  readonly channels: readonly string[] = CHANNELS.map(([c]) => c);
  readonly products: Product[];
  readonly ads: Ad[];
  /** click-through multiplier averaged over impressions */
  readonly meanCtrFactor: number;
  private readonly areaChoice = new WeightedChoice(AREAS.map((a) => a.weight));
  private readonly channelChoice = new WeightedChoice(CHANNELS.map(([, w]) => w));
  private readonly productChoice: WeightedChoice;
  private readonly adChoice: WeightedChoice;
  private readonly smallProducts: Product[];
  /** users 1..n: index u − 1 */
  private readonly userArea: Int32Array;
  private readonly userChannel: Uint8Array;
  /** regular users: a fifth of them, four times as active */
  private readonly userChoice: WeightedChoice;

  constructor(private readonly options: CatalogOptions) {
    const random = Random.stream(options.seed, 'catalog');
    this.products = [];
    const categoryChoice = new WeightedChoice(CATEGORIES.map((c) => c.share));
    for (let id = 1; id <= options.products; id++) {
      const c = CATEGORIES[categoryChoice.sample(random)] as CategorySpec;
      const name = `${random.pick(BRANDS)}${random.pick(c.items)} ${random.pick(VARIANTS)} ${String.fromCharCode(65 + random.int(26))}${random.intBetween(1, 99)}`;
      this.products.push({ id, name, category: c.category, priceCents: shopPrice(random, c.minCents, c.maxCents) });
    }
    // Popularity follows Zipf over a seeded ranking, not the ids.
    this.productChoice = new WeightedChoice(permutedZipf(random, options.products, 0.9));
    this.smallProducts = this.products.filter((p) => p.category === SMALL_AMOUNT_CATEGORY);
    if (this.smallProducts.length === 0) this.smallProducts.push(...this.products.filter((p) => p.priceCents <= 990));
    this.ads = Array.from({ length: options.ads }, (_, i) => ({ id: i + 1, ctrFactor: Math.min(SESSION.maxCtrFactor, random.logNormal(1, 0.4)) }));
    const adWeights = permutedZipf(random, options.ads, 1.0);
    this.adChoice = new WeightedChoice(adWeights);
    const adTotal = adWeights.reduce((sum, w) => sum + w, 0);
    this.meanCtrFactor = this.ads.reduce((sum, ad, i) => sum + ad.ctrFactor * (adWeights[i] as number), 0) / adTotal;

    this.userArea = new Int32Array(options.users);
    this.userChannel = new Uint8Array(options.users);
    const weights = new Array<number>(options.users);
    for (let i = 0; i < options.users; i++) {
      this.userArea[i] = (AREAS[this.areaChoice.sample(random)] as Area).id;
      this.userChannel[i] = this.channelChoice.sample(random);
      weights[i] = random.chance(0.2) ? 4 : 1;
    }
    this.userChoice = new WeightedChoice(weights);
  }

  get userCount(): number {
    return this.options.users;
  }

  randomArea(random: Random): Area {
    return AREAS[this.areaChoice.sample(random)] as Area;
  }

  randomChannel(random: Random): string {
    return this.channels[this.channelChoice.sample(random)] as string;
  }

  randomProduct(random: Random): Product {
    return this.products[this.productChoice.sample(random)] as Product;
  }

  randomSmallProduct(random: Random): Product {
    return random.pick(this.smallProducts);
  }

  randomAd(random: Random): Ad {
    return this.ads[this.adChoice.sample(random)] as Ad;
  }

  /** An active user of the initial pool, regulars four times as likely. */
  randomUser(random: Random): number {
    return this.userChoice.sample(random) + 1;
  }

  /** Area of a user of the initial pool. */
  userAreaId(userId: number): number {
    return this.userArea[userId - 1] as number;
  }

  userChannelName(userId: number): string {
    return this.channels[this.userChannel[userId - 1] as number] as string;
  }

  /** A user's device: most have one, some two. Stable per seed and user. */
  deviceOf(userId: number, random: Random): string {
    const devices = hashInts(this.options.seed, userId, 7) % 4 === 0 ? 2 : 1;
    return deviceId(this.options.seed, userId, random.int(devices));
  }

  /** A user's usual address: stable per seed and user. */
  homeIp(userId: number): string {
    return ipFromHash(hashInts(this.options.seed, userId, 11));
  }

  /** The row of a user of the initial pool: signed up at some point in the three years before `before`. */
  userRow(userId: number, before: number, clock: ZonedClock): UserRow {
    const h = hashInts(this.options.seed, userId, 13);
    const createdAt = before - 86_400_000 - (hashInts(h, 1) % (3 * 365 * 86_400)) * 1000 - (h % 1000);
    return { id: userId, name: personName(h), area_id: this.userAreaId(userId), channel: this.userChannelName(userId), created_at: clock.dateTime(createdAt) };
  }

  productRow(product: Product): ProductRow {
    return { id: product.id, name: product.name, category: product.category, price: formatCents(product.priceCents) };
  }
}

function permutedZipf(random: Random, n: number, s: number): number[] {
  const ranks = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [ranks[i], ranks[j]] = [ranks[j] as number, ranks[i] as number];
  }
  const zipf = zipfWeights(n, s);
  return ranks.map((rank) => zipf[rank] as number);
}

export function personName(hash: number): string {
  const surname = SURNAMES[hash % SURNAMES.length] as string;
  const first = GIVEN[(hash >>> 8) % GIVEN.length] as string;
  const second = (hash >>> 20) % 3 === 0 ? '' : (GIVEN[(hash >>> 12) % GIVEN.length] as string);
  return `${surname}${first}${second}`;
}

export function deviceId(seed: number, owner: number, index: number): string {
  return `${hashInts(seed, owner, index, 1).toString(16).padStart(8, '0')}${hashInts(seed, owner, index, 2).toString(16).padStart(8, '0')}`;
}

export function ipFromHash(h: number): string {
  const first = IP_FIRST_OCTETS[h % IP_FIRST_OCTETS.length] as number;
  const h2 = hashInts(h, 3);
  return `${first}.${h2 & 0xff}.${(h2 >>> 8) & 0xff}.${1 + ((h2 >>> 16) % 254)}`;
}
