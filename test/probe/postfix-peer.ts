/**
 * A private Postfix smtpd on 127.0.0.1:<free port> for the probe tests:
 * Debian's Postfix with its own config and queue (test/harness/postfix.ts),
 * plus what a probe looks at: opportunistic STARTTLS with the test
 * certificate `mail.example.test`, and Cyrus SASL advertising AUTH (every
 * installed mechanism, PLAIN and LOGIN among them) only after TLS
 * (`smtpd_tls_auth_only`); nobody can log in, and the probe never tries. It
 * never receives mail in these tests (the probe sends no MAIL), and it is
 * stopped through its own config.
 *
 * The directory lives under the repository (`.test-tmp/`), not /tmp:
 * Postfix refuses a world-writable parent.
 */
import * as path from 'node:path';
import { TLS_DIR, freePort } from '../harness/petrel.js';
import { startPrivatePostfix, testDir } from '../harness/postfix.js';

export { havePostfix } from '../harness/postfix.js';

export const POSTFIX_NAME = 'probe-postfix.example.test';

export interface PostfixPeer {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startPostfixPeer(): Promise<PostfixPeer> {
  const pf = await startPrivatePostfix({
    dir: testDir('probe-postfix'),
    listen: [{ host: '127.0.0.1', port: await freePort() }],
    main: {
      myhostname: POSTFIX_NAME,
      // What the probe looks at.
      // Certificate then key in one file: the legacy pair of parameters reads it (smtpd_tls_chain_files wants the key first).
      smtpd_tls_cert_file: path.join(TLS_DIR, 'mail.example.test.pem'),
      smtpd_tls_key_file: path.join(TLS_DIR, 'mail.example.test.pem'),
      smtpd_tls_security_level: 'may',
      smtpd_sasl_auth_enable: 'yes',
      smtpd_sasl_type: 'cyrus',
      smtpd_sasl_path: 'smtpd',
      smtpd_tls_auth_only: 'yes',
    },
  });
  return { port: pf.port, stop: () => pf.stop() };
}
