/**
 * The ad/page event log: Kafka topic `<ns>.ods_events`, one JSON object per message. Writers may
 * partition it any way and deliver an event twice (deduplicated downstream by event_id within 24 h).
 */
export const EVENT_TYPES = ['page_view', 'ad_impression', 'ad_click'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface AdEvent {
  event_id: string;
  type: EventType;
  /** event time, epoch ms */
  ts: number;
  /** null for anonymous page views */
  user_id: number | null;
  device_id: string;
  session_id: string;
  ip: string;
  area_id: number;
  channel: string;
  /** ad events only */
  ad_id?: number;
  /** page views only */
  page?: string;
}

/** The source tables of `schemas/source/shop.sql`, in dependency order. */
export const SOURCE_TABLES = ['areas', 'users', 'products', 'orders', 'order_items', 'payments', 'refunds'] as const;
export type SourceTable = (typeof SOURCE_TABLES)[number];
