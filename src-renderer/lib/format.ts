/** The dashboard formats as the rest of Layover does: one module, in src-main/api. */
export * from '../../src-main/api/format.js';
