/**
 * bwip-js as jest loads it (used automatically: a mock of a node_modules package in a `roots`
 * folder's __mocks__). jest resolves `bwip-js` to its CommonJS build, which exports only the
 * generic API (`toBuffer` with a `bcid`); the ES build that esbuild bundles also exports every
 * encoder by name, so that a bundle keeps only the encoders it imports. This adds the one encoder
 * lambdas/generate-barcode imports, as the ES build defines it: `code128(opts)` is `toBuffer` with
 * the encoder fixed, whatever `opts.bcid` says. Everything else is the real CommonJS build.
 */
import type * as BwipJs from 'bwip-js';

const actual = jest.requireActual<typeof BwipJs>('bwip-js');

module.exports = {
  ...actual,
  code128: (opts: BwipJs.RenderOptions, callback?: BwipJs.ToBufferCallback) => (callback ? actual.toBuffer({ ...opts, bcid: 'code128' }, callback) : actual.toBuffer({ ...opts, bcid: 'code128' })),
};
