/**
 * Migration 18, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts).
 * Never edit it; add the next one.
 * Tags are granted, not claimed (docs/security.md, "Tags"): a join token may carry the tags it grants;
 * each host has the tags it is granted (at enrollment, or by ferry hosts set-tags) beside the ones its
 * agent last registered with. Hosts enrolled before this migration keep the tags they had: those are
 * granted to them, so an upgrade moves no host out of its groups.
 */
export const V18 = `
ALTER TABLE tokens ADD COLUMN tags TEXT CHECK (tags IS NULL OR json_valid(tags));
CREATE TABLE host_tags (
  host_id    TEXT PRIMARY KEY,
  granted    TEXT NOT NULL CHECK (json_valid(granted)),
  claimed    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(claimed)),
  granted_by TEXT NOT NULL,
  granted_at TEXT NOT NULL
) STRICT;
INSERT INTO host_tags (host_id, granted, claimed, granted_by, granted_at)
  SELECT h.id, h.tags, h.tags, 'migration', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM hosts h
  WHERE EXISTS (SELECT 1 FROM host_certificates c WHERE c.host_id = h.id);
`;
