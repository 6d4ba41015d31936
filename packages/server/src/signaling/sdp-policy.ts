/**
 * True when an SDP offers to send media: an active audio/video section whose direction is
 * sendrecv or sendonly (sendrecv is the default when no direction is written). Used to refuse
 * publishing by participants without `canPublish`.
 */
export function sdpSendsMedia(sdp: string): boolean {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  return sections.some((section) => {
    const [mline = ''] = section.split(/\r?\n/, 1);
    const [kind, port] = mline.split(' ');
    if ((kind !== 'audio' && kind !== 'video') || port === '0') return false;
    const direction = /\r?\na=(sendrecv|sendonly|recvonly|inactive)\b/.exec(section)?.[1] ?? 'sendrecv';
    return direction === 'sendrecv' || direction === 'sendonly';
  });
}
