/**
 * NATS subject names, checked when the config is read so a typo fails at start, not as a
 * protocol error later: dot-separated tokens without spaces; subscriptions may use `*` for one
 * token and a final `>` for the rest, publishing may not.
 */
export const subjectPattern = /^(>|([^\s.*>]+|\*)(\.([^\s.*>]+|\*))*(\.>)?)$/;

export const publishSubjectPattern = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
