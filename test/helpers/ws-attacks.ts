// Hostile WebSocket clients for browser mode's /events: raw frames (oversized, fragmented,
// reserved opcodes, invalid UTF-8, odd close codes, floods) written to a socket that holds the
// token. Shared by the server's fuzz test and the live-training one.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface EventsAddress {
  port: number;
  token: string;
}

/** One client frame: FIN, RSV bits, opcode, masked unless told otherwise. */
export function frame(opcode: number, payload: Buffer, opts: { fin?: boolean; rsv?: number; masked?: boolean } = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = opts;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const n = payload.length;
  const maskBit = masked ? 0x80 : 0;
  let length: Buffer;
  if (n < 126) length = Buffer.from([maskBit | n]);
  else if (n < 65536) {
    length = Buffer.alloc(3);
    length[0] = maskBit | 126;
    length.writeUInt16BE(n, 1);
  } else {
    length = Buffer.alloc(9);
    length[0] = maskBit | 127;
    length.writeBigUInt64BE(BigInt(n), 1);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), length, payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([Buffer.from(head), length, mask, body]);
}

export const closeFrame = (code: number | null, reason: Buffer = Buffer.alloc(0)) => {
  if (code === null) return frame(0x8, reason);
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code);
  return frame(0x8, Buffer.concat([body, reason]));
};

/** A raw socket upgraded to /events with the token; resolves once the server said 101. */
export function rawSocket(server: EventsAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write(
        `GET /events?token=${server.token} HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
          `sec-websocket-version: 13\r\nsec-websocket-key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      );
    });
    let head = '';
    const onData = (c: Buffer) => {
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    socket.on('error', () => undefined); // the server may reset a hostile client; that is the point
  });
}

/** Sends `bytes` (in chunks, to cross TCP segment boundaries) and waits for the server to drop or close the socket. */
export async function attack(server: EventsAddress, bytes: Buffer[], { expectClose = true } = {}): Promise<void> {
  const socket = await rawSocket(server);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (const b of bytes) socket.write(b);
  if (expectClose) {
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('server did not close a hostile socket')), 5000))]);
  } else {
    socket.destroy();
    await closed;
  }
}

const text = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

/** Each attack by name: the bytes a hostile client sends. */
export const HOSTILE_FRAMES: [string, () => Buffer[]][] = [
  ['a 2 KB text frame (over the 1 KB limit)', () => [frame(0x1, Buffer.alloc(2048, 0x61))]],
  ['a 100 MB length header with no body', () => [frame(0x2, Buffer.alloc(0)).subarray(0, 1), Buffer.from([0xff, 0, 0, 0, 0, 0x06, 0x40, 0, 0])]],
  ['fragments that add up past the limit', () => [frame(0x1, Buffer.alloc(600, 0x61), { fin: false }), frame(0x0, Buffer.alloc(600, 0x61), { fin: false }), frame(0x0, Buffer.alloc(10, 0x61))]],
  ['a continuation frame with nothing to continue', () => [frame(0x0, text('x'))]],
  ['a new text frame inside a fragmented message', () => [frame(0x1, text('a'), { fin: false }), frame(0x1, text('b'))]],
  ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, () => Buffer[]] => [`reserved opcode 0x${op.toString(16)}`, () => [frame(op, text('x'))]]),
  ['invalid UTF-8 in a text frame', () => [frame(0x1, Buffer.from([0xc3, 0x28, 0xff, 0xfe]))]],
  ['invalid UTF-8 split across fragments', () => [frame(0x1, Buffer.from([0xe2, 0x82]), { fin: false }), frame(0x0, Buffer.from([0x28]))]],
  ['RSV1 set without an extension', () => [frame(0x1, text('x'), { rsv: 4 })]],
  ['RSV2 and RSV3 set', () => [frame(0x1, text('x'), { rsv: 3 })]],
  ['an unmasked client frame', () => [frame(0x1, text('x'), { masked: false })]],
  ['a fragmented ping', () => [frame(0x9, text('x'), { fin: false })]],
  ['a ping over 125 bytes', () => [frame(0x9, Buffer.alloc(200, 1))]],
  ['close code 0', () => [closeFrame(0)]],
  ['close code 999', () => [closeFrame(999)]],
  ['close code 1004 (reserved)', () => [closeFrame(1004)]],
  ['close code 1005 (never sent)', () => [closeFrame(1005)]],
  ['close code 1006 (never sent)', () => [closeFrame(1006)]],
  ['close code 1015 (never sent)', () => [closeFrame(1015)]],
  ['close code 5000', () => [closeFrame(5000)]],
  ['close code 65535', () => [closeFrame(65535)]],
  ['a one-byte close payload', () => [closeFrame(null, Buffer.from([3]))]],
  ['a close reason in invalid UTF-8', () => [closeFrame(1000, Buffer.from([0xff, 0xfe]))]],
  ['a 200-byte close frame', () => [closeFrame(1000, Buffer.alloc(198, 0x61))]],
  ['a flood of 5,000 small text frames', () => [Buffer.concat(Array.from({ length: 5000 }, (_, i) => frame(0x1, text(`m${i}`)))), closeFrame(1000)]],
  ['a flood of 5,000 pings', () => [Buffer.concat(Array.from({ length: 5000 }, () => frame(0x9, text('p')))), closeFrame(1000)]],
  ['an ordinary close', () => [closeFrame(1000, text('bye'))]],
];
