// A minimal tus 1.0 client over fetch, for the recording tests (the SDK uses tus-js-client).
export interface TusReply {
  status: number;
  offset: number | undefined;
  location: string | undefined;
  body: string;
}

async function reply(response: Response): Promise<TusReply> {
  const offset = response.headers.get('upload-offset');
  return { status: response.status, offset: offset === null ? undefined : Number(offset), location: response.headers.get('location') ?? undefined, body: await response.text() };
}

export function uploadsUrl(base: string, room: string): string {
  return `${base}/api/rooms/${room}/recordings/uploads`;
}

export async function tusCreate(base: string, room: string, token: string | undefined, metadata: Record<string, string> = { filetype: 'video/webm;codecs=vp9,opus' }): Promise<TusReply> {
  const encoded = Object.entries(metadata).map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`).join(',');
  const headers: Record<string, string> = { 'tus-resumable': '1.0.0', 'upload-defer-length': '1', 'upload-metadata': encoded };
  if (token) headers.authorization = `Bearer ${token}`;
  return reply(await fetch(uploadsUrl(base, room), { method: 'POST', headers }));
}

export async function tusHead(url: string, token: string): Promise<TusReply> {
  return reply(await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` } }));
}

export async function tusPatch(url: string, token: string, offset: number, bytes: Uint8Array, uploadLength?: number): Promise<TusReply> {
  const headers: Record<string, string> = { 'tus-resumable': '1.0.0', 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), authorization: `Bearer ${token}` };
  if (uploadLength !== undefined) headers['upload-length'] = String(uploadLength);
  return reply(await fetch(url, { method: 'PATCH', headers, body: new Uint8Array(bytes) }));
}

/** Absolute URL of an upload from its Location. */
export function absolute(base: string, location: string | undefined): string {
  if (!location) throw new Error('no Location in the tus reply');
  return new URL(location, base).toString();
}
