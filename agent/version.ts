/** The agent's version, sent in Register and printed by `ferry-agent --version`. */
export const AGENT_VERSION = '0.1.0';
