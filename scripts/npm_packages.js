#!/usr/bin/env node
// Packs the npm tarball pair of a release: @stem/sdk (sdk-node/, with an optional dependency on
// this platform's binary package) and @stem/cli-PLATFORM-ARCH (the `stem` binary as bin/stem,
// linked as `stem` in node_modules/.bin, so `npx stem` runs it with no Node in between).
// npm installs an optional dependency only where its os/cpu/libc match, as esbuild's and
// biome's platform packages; elsewhere the SDK is pure JS and talks HTTP or to a `stem` on PATH.
//
//   node scripts/npm_packages.js --binary dist/stem --stage target/dist/npm --out dist
//
// Prints the two tarballs' paths.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');

function fail(message) {
  process.stderr.write(`npm_packages.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    if (!['--binary', '--stage', '--out'].includes(flag)) fail(`unknown argument ${flag} (want --binary, --stage, --out)`);
    if (argv[i + 1] === undefined) fail(`${flag} needs a value`);
    args[flag.slice(2)] = path.resolve(argv[i + 1]);
  }
  for (const need of ['binary', 'stage', 'out']) if (!args[need]) fail(`--${need} is required`);
  if (!fs.existsSync(args.binary)) fail(`--binary ${args.binary}: no such file`);
  return args;
}

function copy(from, to, mode) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
  if (mode !== undefined) fs.chmodSync(to, mode);
}

function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** npm pack in `dir`, into `out`; the tarball's path. */
function pack(dir, out) {
  const reply = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
    cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  return path.join(out, JSON.parse(reply)[0].filename);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const sdk = JSON.parse(fs.readFileSync(path.join(root, 'sdk-node', 'package.json'), 'utf8'));
  const platform = `${process.platform}-${process.arch}`;
  const cliName = `@stem/cli-${platform}`;
  fs.rmSync(args.stage, { recursive: true, force: true });
  fs.mkdirSync(args.out, { recursive: true });

  // The SDK as published: its own files, plus the optional dependency on the binary package.
  const sdkDir = path.join(args.stage, 'sdk');
  for (const entry of sdk.files) copy(path.join(root, 'sdk-node', entry), path.join(sdkDir, entry));
  const published = { ...sdk, optionalDependencies: { [cliName]: sdk.version } };
  delete published.devDependencies;
  delete published.scripts;
  writeJson(path.join(sdkDir, 'package.json'), published);

  // The binary package: bin/stem, for this os, cpu and libc only.
  const cliDir = path.join(args.stage, 'cli');
  copy(args.binary, path.join(cliDir, 'bin', 'stem'), 0o755);
  writeJson(path.join(cliDir, 'package.json'), {
    name: cliName,
    version: sdk.version,
    description: `The stem binary (worker, CLI, HTTP API) for ${platform}; installed by @stem/sdk.`,
    license: sdk.license,
    os: [process.platform],
    cpu: [process.arch],
    ...(process.platform === 'linux' ? { libc: ['glibc'] } : {}),
    bin: { stem: 'bin/stem' },
    files: ['bin/stem', 'README.md'],
    preferUnplugged: true,
  });
  fs.writeFileSync(path.join(cliDir, 'README.md'),
    `# ${cliName}\n\nThe \`stem\` binary for ${platform}, version ${sdk.version}. Install \`@stem/sdk\`, which ` +
    'depends on it where it runs; `npx stem --version` prints the version and commit.\n');

  process.stdout.write(`${pack(sdkDir, args.out)}\n${pack(cliDir, args.out)}\n`);
}

main();
