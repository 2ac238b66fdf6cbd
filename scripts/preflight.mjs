// `npm test`'s first step: what the suite needs and cannot install itself, checked in a second
// rather than found missing minutes later. The status page's tests drive a real Chromium, the one
// CHROMIUM_PATH names or Debian's (the path __tests__/local/browser.test.ts uses); none is skipped.
import { accessSync, constants } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
try {
  accessSync(chromium, constants.X_OK);
} catch {
  console.error(
    `npm test: no Chromium at ${chromium} (the status page is tested in it): install it with \`sudo apt-get install -y chromium\`, or set CHROMIUM_PATH to a Chromium binary`,
  );
  process.exit(1);
}
