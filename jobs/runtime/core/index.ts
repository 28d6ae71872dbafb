/** The pure semantic core of the stream runtime: Flink's event-time semantics over plain events, no I/O. */
export { assertDecimalScale, formatDecimal, parseDecimal } from './decimal.js';
export {
  type AggregateSpec,
  type DecimalSumAcc,
  type DistinctAcc,
  type ExtremeAcc,
  type FieldAggregate,
  type FieldInput,
  type FieldResults,
  type Json,
  type Ordered,
  type OrderedCodec,
  type SavedDecimalSum,
  type SavedMultiset,
  type Sign,
  aggregateFields,
  bigintValues,
  count,
  distinctCount,
  field,
  maxWithRetraction,
  minWithRetraction,
  numberValues,
  stringValues,
  sumDecimal,
} from './aggregates.js';
export {
  type BoundedOutOfOrdernessSnapshot,
  type PartitionedWatermarksOptions,
  type PartitionedWatermarksSnapshot,
  type SavedPartition,
  type WatermarkCombinerSnapshot,
  BoundedOutOfOrdernessWatermarks,
  MIN_TIMESTAMP,
  PartitionedWatermarks,
  WatermarkCombiner,
} from './watermark.js';
export { type TimerCallback, type TimerServiceSnapshot, TimerService, TimestampQueue } from './timers.js';
export { type TtlValueStateSnapshot, TtlValueState } from './keyed-state.js';
export { type KeyedSnapshots } from './keyed-snapshots.js';
export {
  type AlignedWindows,
  type LateElement,
  type SessionWindows,
  type SlidingWindows,
  type TimeWindow,
  type TumblingWindows,
  type WindowAssigner,
  type WindowOperator,
  type WindowOutput,
  type WindowResult,
  type WindowRetraction,
  DAY_MS,
  HOUR_MS,
  assignWindows,
  cleanupTime,
  dailyWindows,
  isWindowLate,
  maxTimestamp,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  windowStart,
} from './windows.js';
export { type SlicedKeyState, type SlicedWindowOptions, type SlicedWindowSnapshot, SlicedWindowOperator } from './sliced-window.js';
export { type SavedSession, type SessionWindowOptions, type SessionWindowSnapshot, SessionWindowOperator } from './session-window.js';
export { type WindowOperatorOptions, type WindowOperatorSnapshot, createWindowOperator, restoreWindowOperator } from './window-operator.js';
export {
  type IntervalJoinOptions,
  type IntervalJoinOutput,
  type IntervalJoinSnapshot,
  type JoinedPair,
  type LateJoinInput,
  type SavedBuffer,
  IntervalJoin,
} from './interval-join.js';
export {
  type JoinBuffers,
  type LateWindowJoinInput,
  type WindowJoinOptions,
  type WindowJoinOutput,
  type WindowJoinSnapshot,
  type WindowJoinedPair,
  WindowJoin,
} from './window-join.js';
export {
  type LateWindowResult,
  type RankedItem,
  type Ranking,
  type SavedGroupWindow,
  type SavedScore,
  type Score,
  type TopNOptions,
  type TopNOutput,
  type TopNSnapshot,
  TopN,
} from './topn.js';
export { type ZonedDay, TimeZone, formatDay, formatUtc, parseLocalDateTime } from './time-zone.js';
export { type PrefixedEntry, BroadcastDimension } from './broadcast-dimension.js';
export {
  type ChangelogIntervalJoinOptions,
  type ChangelogIntervalJoinSnapshot,
  type ChangelogJoinInput,
  type ChangelogJoinOutput,
  type IdentifiedRow,
  type LateChange,
  type SavedJoinKey,
  type TimedRow,
  ChangelogIntervalJoin,
} from './changelog-interval-join.js';
export {
  type ClickBlacklistOptions,
  type ClickBlacklistOutput,
  type ClickBlacklistSnapshot,
  type SavedUser,
  type TrackedEvent,
  ClickBlacklist,
} from './click-blacklist.js';
export { type ClickCount, type Mark, countClick, trimTail } from './click-count.js';
export { type GpdFit, type GpdMethod, fitGpd, gpdLogLikelihood, gpdTailQuantile } from './evt/gpd.js';
export { type SpotModel, type SpotOptions, type SpotSettings, type SpotSnapshot, type SpotVerdict, Spot, spotSettings } from './evt/spot.js';
export { type DspotModel, type DspotOptions, type DspotSnapshot, type DspotVerdict, Dspot } from './evt/dspot.js';
export { type Alert, type AlertDetail, type AlertKind, type AlertOutput, type LateAlertInput } from './alerts/alert.js';
export {
  type BrushingOrder,
  type OrderBrushingOptions,
  type OrderBrushingSnapshot,
  type OrderContribution,
  type SavedBrushingUser,
  OrderBrushingDetector,
  isSmallCountedOrder,
  smallOrderContributions,
} from './alerts/order-brushing.js';
export {
  type FailurePayment,
  type PaymentContribution,
  type PaymentCounts,
  type PaymentFailureOptions,
  type PaymentFailureSnapshot,
  type SavedMinute,
  PaymentFailureDetector,
  isFailedPayment,
  paymentContributions,
  paymentOutcomes,
} from './alerts/payment-failure.js';
export { type BlacklistRow, type ClickBotOptions, type ClickBotSnapshot, type SavedClickBotUser, ClickBotDetector } from './alerts/click-bot.js';
export {
  type SavedTumblingWindow,
  type TumblingAssigner,
  type TumblingWindowOptions,
  type TumblingWindowSnapshot,
  TumblingWindowOperator,
  calendarDays,
  fixedWindows,
} from './tumbling-window.js';
export { type ChangelogNormalizeOptions, type ChangelogNormalizeSnapshot, type NormalizeOutput, type SavedNormalizedKey, ChangelogNormalize } from './changelog-normalize.js';
export { type GatherOutput, type SavedGatherEntry, type WindowGatherOptions, type WindowGatherSnapshot, WindowGather } from './window-gather.js';
export {
  type LateMeasure,
  type MeasureDeltas,
  type SavedMultiplicities,
  type SavedPending,
  type WindowedMeasuresOptions,
  type WindowedMeasuresSnapshot,
  WindowedMeasures,
} from './windowed-measures.js';
export { type IntervalExistsOptions, type IntervalExistsOutput, type IntervalExistsSnapshot, type SavedExistsKey, IntervalExists } from './interval-exists.js';
