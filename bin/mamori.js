#!/usr/bin/env -S node --max-semi-space-size=64
// Entry point of the `mamori` command; the code lives in dist/ (npm run build).
//
// --max-semi-space-size=64 (MiB; V8's default is 16): the collector holds each agent's frame
// until its group commit, a few hundred ms. With the default young generation those frames
// outlive two scavenges at a city's load and are promoted, and old-generation collection then
// costs as much CPU as the sockets (bench/ingest.ts). V8 reads the size only at start, so it is
// given here and in package.json's `start`, and the benches start the collector with these flags.
import '../dist/mamori.mjs';
