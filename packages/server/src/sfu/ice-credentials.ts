/**
 * The ICE username fragments and passwords of this process's SFU connections, as the SDP from its
 * workers hands them out: the built-in TURN needs them to re-sign the checks it relays to the SFU
 * (turn/ice-check-repair.ts). Bounded: past MAX_ENTRIES the oldest go first (a connection whose
 * entry went still works over UDP and TURN/UDP; only a repair would be skipped).
 */
const MAX_ENTRIES = 50_000;
const passwords = new Map<string, string>();

/** Remembers every ufrag/password pair in `sdp` (session or media level, in order). */
export function rememberIceCredentials(sdp: string): void {
  const ufrags = [...sdp.matchAll(/^a=ice-ufrag:(\S+)/gm)].map((m) => m[1]!);
  const pwds = [...sdp.matchAll(/^a=ice-pwd:(\S+)/gm)].map((m) => m[1]!);
  ufrags.forEach((ufrag, i) => {
    const pwd = pwds[i];
    if (pwd === undefined) return;
    passwords.delete(ufrag);
    passwords.set(ufrag, pwd);
  });
  while (passwords.size > MAX_ENTRIES) passwords.delete(passwords.keys().next().value!);
}

/** The password of an SFU ICE username fragment this process handed out, if it did. */
export function sfuIcePassword(ufrag: string): string | undefined {
  return passwords.get(ufrag);
}
