import test from 'tape';
import { isSupportedRequestUriScheme, unsupportedOptionTags } from '../../lib/sip/uas-checks';

test('uas checks: Request-URI schemes we serve (RFC 3261 §8.2.2.1)', (t) => {
  for (const uri of ['sip:a@b.com', 'SIP:b.com', 'sips:a@b.com', 'tel:+15551234567', ' sip:b.com']) t.ok(isSupportedRequestUriScheme(uri), uri);
  for (const uri of ['nobodyKnowsThisScheme:totallyopaquecontent', 'soap.beep://192.0.2.103:3002', 'http://x', 'mailto:a@b', '', 'b.com', ':x']) {
    t.notOk(isSupportedRequestUriScheme(uri), uri || '(empty)');
  }
  t.end();
});

test('uas checks: option-tags of Require we do not support (RFC 3261 §8.2.2.3)', (t) => {
  t.deepEqual(unsupportedOptionTags(undefined), [], 'no Require');
  t.deepEqual(unsupportedOptionTags('nothingSupportsThis, nothingSupportsThisEither'), ['nothingSupportsThis', 'nothingSupportsThisEither']);
  t.deepEqual(unsupportedOptionTags('path,100rel', ['PATH']), ['100rel'], 'compared without case, order kept');
  t.deepEqual(unsupportedOptionTags(' , ,'), [], 'empty items ignored');
  t.end();
});
