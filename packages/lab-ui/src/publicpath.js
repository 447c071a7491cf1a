// Where the bundle's own chunks, fonts and images are fetched from: the page config's
// `fullStaticUrl` (e.g. `/user/alice/static/lab`), known only at run time. Imported
// first by index.js so that it runs before any other module asks for an asset.
import { PageConfig } from '@jupyterlab/coreutils';

// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';
