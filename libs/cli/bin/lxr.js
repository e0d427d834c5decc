#!/usr/bin/env node
// The `lxr` command. A committed file, so `npm ci` can link it before the build runs.
import '../dist/main.js';
