#!/usr/bin/env node
// Entry point of the `mamori` command; the code lives in dist/ (npm run build).
import '../dist/mamori.mjs';
