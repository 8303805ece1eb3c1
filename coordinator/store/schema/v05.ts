/**
 * Migration 5, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Zonal rollouts: the config's zonal settings; the zonal approval gate (`--approve-after first-zone`).
 */
export const V5 = `
ALTER TABLE deployment_configs ADD COLUMN zonal TEXT CHECK (zonal IS NULL OR json_valid(zonal));
ALTER TABLE deployments ADD COLUMN approve_after_zones INTEGER CHECK (approve_after_zones IS NULL OR approve_after_zones >= 1);
`;
