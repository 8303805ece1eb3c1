/**
 * Migration 4, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Health alarms per group; bake time and the emergency switch per deployment.
 */
export const V4 = `
ALTER TABLE deployment_groups ADD COLUMN alarms TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(alarms));
ALTER TABLE deployments ADD COLUMN ignore_alarms INTEGER NOT NULL DEFAULT 0 CHECK (ignore_alarms IN (0, 1));
ALTER TABLE deployments ADD COLUMN min_healthy_time_ms INTEGER NOT NULL DEFAULT 0 CHECK (min_healthy_time_ms >= 0);
`;
