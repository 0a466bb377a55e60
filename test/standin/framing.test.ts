import test from 'tape';
import { FrameDecoder, FramingError, encodeFrame } from '../support/drachtio/framing';

const CAPTURED_ROUTES = '50#98deb776-d6b7-4529-bb5d-1bf534c75fec|route|options51#78b3d8ff-cfea-4dc5-a3fe-5ac131bbc499|route|register';

test('framing: the length prefix counts UTF-8 bytes, not characters', (t) => {
  t.equal(encodeFrame('abc'), '3#abc');
  t.equal(encodeFrame('é'), '2#é');
  t.equal(encodeFrame('x|😀'), '6#x|😀');
  t.end();
});

test('framing: two coalesced frames from the capture decode as two payloads', (t) => {
  const decoder = new FrameDecoder();
  t.deepEqual(decoder.push(Buffer.from(CAPTURED_ROUTES)), [
    '98deb776-d6b7-4529-bb5d-1bf534c75fec|route|options',
    '78b3d8ff-cfea-4dc5-a3fe-5ac131bbc499|route|register',
  ]);
  t.equal(decoder.buffered, 0);
  t.end();
});

test('framing: a stream split at every byte position (inside the digits and inside multi-byte characters) decodes the same', (t) => {
  const payloads = ['id-1|ping', 'id-2|sip|network|ünïcødé 😀|x', 'id-3|route|invite'];
  const stream = Buffer.from(payloads.map(encodeFrame).join(''), 'utf8');
  for (let cut = 1; cut < stream.length; cut++) {
    const decoder = new FrameDecoder();
    const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
    if (JSON.stringify(out) !== JSON.stringify(payloads)) {
      t.fail(`split at byte ${cut} gave ${JSON.stringify(out)}`);
      return t.end();
    }
  }
  t.pass(`all ${stream.length - 1} split positions decode identically`);
  t.end();
});

test('framing: a stream fed one byte at a time decodes', (t) => {
  const payloads = ['a|b', 'é|😀', 'x'.repeat(1000)];
  const stream = Buffer.from(payloads.map(encodeFrame).join(''), 'utf8');
  const decoder = new FrameDecoder();
  const out: string[] = [];
  for (const byte of stream) out.push(...decoder.push(Buffer.from([byte])));
  t.deepEqual(out, payloads);
  t.end();
});

test('framing: the server accepts at most 5 length digits; a 6th digit is fatal', (t) => {
  t.deepEqual(new FrameDecoder().push(Buffer.from(`5#hello`)), ['hello']);
  const fiveDigits = `10000#${'x'.repeat(10000)}`;
  t.equal(new FrameDecoder().push(Buffer.from(fiveDigits))[0].length, 10000);
  t.throws(() => new FrameDecoder().push(Buffer.from('100000#x')), FramingError, 'six digits before #');
  t.throws(() => new FrameDecoder().push(Buffer.from('123456')), FramingError, 'six digits, # not yet seen');
  t.end();
});

test('framing: a non-digit or an empty prefix is fatal', (t) => {
  t.throws(() => new FrameDecoder().push(Buffer.from('#abc')), FramingError);
  t.throws(() => new FrameDecoder().push(Buffer.from('1a#abc')), FramingError);
  t.throws(() => new FrameDecoder().push(Buffer.from(' 3#abc')), FramingError);
  t.end();
});

test('framing: an incomplete frame waits for more data', (t) => {
  const decoder = new FrameDecoder();
  t.deepEqual(decoder.push(Buffer.from('12')), []);
  t.deepEqual(decoder.push(Buffer.from('#hello')), []);
  t.deepEqual(decoder.push(Buffer.from(' world!')), ['hello world!']);
  t.end();
});
