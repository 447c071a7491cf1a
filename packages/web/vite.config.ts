import { defineConfig } from 'vite';

// The hub serves the build under /hub/static/ (packages/hub/src/web); JSX goes through
// esbuild's automatic runtime because @vitejs/plugin-react is not available here.
export default defineConfig({
  base: '/hub/static/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // The CSP forbids data: scripts; keep every asset a file of its own.
    assetsInlineLimit: 0,
  },
});
