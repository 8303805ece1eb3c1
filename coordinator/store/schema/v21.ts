/**
 * Migration 21, frozen: applied databases hold exactly this text (test/unit/migrations-frozen.test.ts). Never edit it; add the next one.
 * Chat notifications (docs/notifications.md): a trigger's body is Ferry's JSON (json, every trigger
 * so far), a Slack message (slack) or a Microsoft Teams card (teams).
 */
export const V21 = `
ALTER TABLE triggers ADD COLUMN format TEXT NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack', 'teams'));
`;
