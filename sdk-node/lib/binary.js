// The `stem` binary this install carries, if it carries one: @stem/sdk has an optional
// dependency on a platform package (@stem/cli-linux-x64, ...; built by scripts/dist.sh) holding
// the binary in bin/stem, which npm installs only on its platform. A pure-JS install has none.
// The CLI transport takes, in order: an explicit `bin`, STEM_BIN, this binary, `stem` on PATH.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** The platform package's name for this machine, e.g. `@stem/cli-linux-x64`. */
function platformPackage(platform = process.platform, arch = process.arch) {
  return `@stem/cli-${platform}-${arch}`;
}

let cached;

/** The absolute path of the platform package's `stem` next to this SDK, or undefined. */
function packagedStem() {
  if (cached !== undefined) return cached || undefined;
  cached = '';
  try {
    const manifest = require.resolve(`${platformPackage()}/package.json`);
    const bin = path.join(path.dirname(manifest), 'bin', 'stem');
    fs.accessSync(bin, fs.constants.X_OK);
    cached = bin;
  } catch {
    // Not installed (another platform, a pure-JS install, --omit=optional): PATH then.
  }
  return cached || undefined;
}

module.exports = { packagedStem, platformPackage };
