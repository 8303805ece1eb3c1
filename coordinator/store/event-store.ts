import type { DeliveryJob, DeliveryOutcome, FerryEvent, TriggerInput, TriggerView } from '../domain/events.js';

/**
 * The Store's event log, webhook triggers and delivery outbox (part of `Store`; contract tests in
 * `test/contract/store-contract-events.ts`). Events are appended by the store itself, in the
 * transaction of each status change; `appendEvent` adds the few that are not a status change.
 */
export interface EventLogStore {
  /** Events with seq > afterSeq (default 0), oldest first, optionally of one application; default limit 500. */
  listEvents(options?: { afterSeq?: number; application?: string; limit?: number }): Promise<FerryEvent[]>;
  /**
   * Appends an event the status triggers do not make (DeploymentAwaitingApproval) and queues its
   * deliveries to the group's triggers that subscribe to its kind; returns its seq.
   */
  appendEvent(event: Omit<FerryEvent, 'seq'>): Promise<number>;
  /** The highest seq ever appended (0: none). */
  lastEventSeq(): Promise<number>;
  /**
   * Keeps the newest `keep` (≥ 1) events and any with a delivery still pending; returns how many
   * were removed: the oldest, at most `limit` (≥ 1) of them when given.
   */
  pruneEvents(keep: number, limit?: number): Promise<number>;

  /**
   * Creates or replaces the trigger (group, name) and, in the same transaction, appends a
   * `TriggerTest` event with a delivery to this trigger only. ALREADY_EXISTS is never thrown:
   * an existing trigger is updated (its secret kept unless a new one is given).
   */
  setTrigger(input: TriggerInput, at: string): Promise<{ trigger: TriggerView; created: boolean; testSeq: number }>;
  /** Removes the trigger and its pending deliveries; false when there was none. */
  removeTrigger(groupId: string, name: string): Promise<boolean>;
  listTriggers(groupId: string): Promise<TriggerView[]>;

  /** Deliveries due at `nowMs` (not delivered, not given up), oldest first. */
  dueDeliveries(nowMs: number, limit: number): Promise<DeliveryJob[]>;
  /**
   * Claims up to `limit` deliveries due at `nowMs` for `claimMs` and returns them, oldest first: their next
   * attempt moves to `nowMs + claimMs`, so another coordinator replica asking meanwhile does not get them (on
   * PostgreSQL rows another replica is claiming at this instant are skipped: FOR UPDATE SKIP LOCKED). The
   * attempt's `recordDelivery` sets the real next attempt and ends the claim; a claimer that dies leaves its
   * claims to expire (or, on SQLite, to the next coordinator's `releaseDeliveryClaims`).
   */
  claimDeliveries(nowMs: number, limit: number, claimMs: number): Promise<DeliveryJob[]>;
  /**
   * Ends every pending delivery's claim: each is due again from when it was claimed; a retry's backoff (no
   * claim) and finished deliveries are untouched. Returns how many were released. For a coordinator starting
   * as the only one on its store (SQLite: the data-dir lock), whose claims can only be a dead process's;
   * never while another replica may be trying what it claimed.
   */
  releaseDeliveryClaims(): Promise<number>;
  /** When the next pending delivery is due (epoch ms; 0: now), undefined when none is pending. */
  nextDeliveryAt(): Promise<number | undefined>;
  /** Records one attempt on the delivery and its trigger's counters, in one transaction. */
  recordDelivery(id: number, outcome: DeliveryOutcome): Promise<void>;
}
