// The installed-npm check's task: @stem/sdk comes from the packed tarball, nothing else.
'use strict';

const { task, run } = require('@stem/sdk');

task('add', (ctx, a, b) => a + b);

run();
