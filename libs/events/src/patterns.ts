// Text patterns of the event schemas that clients check before sending, without loading the
// schemas themselves (`@lxr/events/patterns` pulls in no TypeBox).

/** A dotted-quad IPv4 address, each octet 0–255 without leading zeros. */
export const IPV4_PATTERN =
  '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$';
