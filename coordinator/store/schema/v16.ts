/**
 * Migration 16 (registered as the next number; the file leaves 15 to a parallel change), frozen:
 * applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * A join token may be bound to one host id (docs/security.md): only that id enrolls with it, and it may
 * enroll a host that holds a certificate already (ferry hosts reenroll).
 */
export const V16 = `
ALTER TABLE tokens ADD COLUMN host_id TEXT;
`;
