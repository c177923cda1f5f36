'use strict';
/**
 * Benchmark alternative only: loaded after tsx's CommonJS hooks (`--require tsx/cjs --require <this>`),
 * turns off the source-map support tsx switches on, with which node parses the inline source maps
 * of every cdktf and provider module it loads. Stack traces then show transpiled positions.
 */
process.setSourceMapsEnabled(false);
