/** The audit log's outcomes, shared by the coordinator that writes them and the CLI that filters by them. */

/** ok: the call did what was asked. failed: it was allowed but ended with an error. refused: authentication or authorisation said no. */
export const AUDIT_OUTCOMES = ['ok', 'failed', 'refused'] as const;

export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
