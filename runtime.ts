/**
 * Imported first by main.ts. tsx turns on source-map support, which makes Node parse the inline
 * source maps of every cdktf and provider module it loads (about 40 MB and 0.15 s per synth).
 * Synth errors that matter to users are config errors, reported without a stack, so the maps buy
 * nothing here.
 */
process.setSourceMapsEnabled(false);
