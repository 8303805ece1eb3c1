/**
 * Migration 17, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts).
 * Never edit it; add the next one. A Paused deployment says which pause it is (docs/rollouts.md,
 * "Approvals and pauses"): `operator` (ferry deploy pause: resume continues it), `window` (outside
 * its group's windows: it resumes by itself), `approval` (its approval gate: approve or reject).
 * `paused_for_window` stays, kept equal to pause_kind = 'window'.
 */
export const V17 = `
ALTER TABLE deployments ADD COLUMN pause_kind TEXT CHECK (pause_kind IS NULL OR pause_kind IN ('operator', 'window', 'approval'));
UPDATE deployments SET pause_kind = CASE
  WHEN paused_for_window = 1 THEN 'window'
  WHEN pause_reason LIKE 'awaiting approval%' THEN 'approval'
  ELSE 'operator' END
WHERE status = 'Paused';
`;
