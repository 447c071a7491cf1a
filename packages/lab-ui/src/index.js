// The EUCP JupyterLab application: the stock JupyterLab 4 plugins from the @jupyterlab/*
// npm packages plus the EUCP plugins, started the way JupyterLab's own `dev_mode` does
// (plugin registry → service manager → JupyterLab). No federated (prebuilt) extensions.
import './publicpath.js';
import './style.js';

import { JupyterLab } from '@jupyterlab/application';
import { JupyterPluginRegistry, PageConfig } from '@jupyterlab/coreutils';
import { IConnectionStatus, IServiceManager } from '@jupyterlab/services';

import * as applicationExtension from '@jupyterlab/application-extension';
import * as apputilsExtension from '@jupyterlab/apputils-extension';
import * as audioExtension from '@jupyterlab/audio-extension';
import * as cellToolbarExtension from '@jupyterlab/cell-toolbar-extension';
import * as celltagsExtension from '@jupyterlab/celltags-extension';
import * as codemirrorExtension from '@jupyterlab/codemirror-extension';
import * as completerExtension from '@jupyterlab/completer-extension';
import * as consoleExtension from '@jupyterlab/console-extension';
import * as csvviewerExtension from '@jupyterlab/csvviewer-extension';
import * as docmanagerExtension from '@jupyterlab/docmanager-extension';
import * as documentsearchExtension from '@jupyterlab/documentsearch-extension';
import * as filebrowserExtension from '@jupyterlab/filebrowser-extension';
import * as fileeditorExtension from '@jupyterlab/fileeditor-extension';
import * as helpExtension from '@jupyterlab/help-extension';
import * as htmlviewerExtension from '@jupyterlab/htmlviewer-extension';
import * as hubExtension from '@jupyterlab/hub-extension';
import * as imageviewerExtension from '@jupyterlab/imageviewer-extension';
import * as inspectorExtension from '@jupyterlab/inspector-extension';
import * as launcherExtension from '@jupyterlab/launcher-extension';
import * as logconsoleExtension from '@jupyterlab/logconsole-extension';
import * as mainmenuExtension from '@jupyterlab/mainmenu-extension';
import * as markdownviewerExtension from '@jupyterlab/markdownviewer-extension';
import * as markedparserExtension from '@jupyterlab/markedparser-extension';
import * as mathjaxExtension from '@jupyterlab/mathjax-extension';
import * as metadataformExtension from '@jupyterlab/metadataform-extension';
import * as notebookExtension from '@jupyterlab/notebook-extension';
import * as rendermimeExtension from '@jupyterlab/rendermime-extension';
import * as runningExtension from '@jupyterlab/running-extension';
import * as servicesExtension from '@jupyterlab/services-extension';
import * as settingeditorExtension from '@jupyterlab/settingeditor-extension';
import * as shortcutsExtension from '@jupyterlab/shortcuts-extension';
import * as statusbarExtension from '@jupyterlab/statusbar-extension';
import * as terminalExtension from '@jupyterlab/terminal-extension';
import * as themeDarkExtension from '@jupyterlab/theme-dark-extension';
import * as themeDarkHighContrastExtension from '@jupyterlab/theme-dark-high-contrast-extension';
import * as themeLightExtension from '@jupyterlab/theme-light-extension';
import * as tocExtension from '@jupyterlab/toc-extension';
import * as tooltipExtension from '@jupyterlab/tooltip-extension';
import * as translationExtension from '@jupyterlab/translation-extension';
import * as uiComponentsExtension from '@jupyterlab/ui-components-extension';
import * as videoExtension from '@jupyterlab/video-extension';
import * as workspacesExtension from '@jupyterlab/workspaces-extension';

import * as javascriptExtension from '@jupyterlab/javascript-extension';
import * as jsonExtension from '@jupyterlab/json-extension';
import * as pdfExtension from '@jupyterlab/pdf-extension';
import * as vega5Extension from '@jupyterlab/vega5-extension';

import eucpPlugins from './eucp-extension/index.js';

/** Application plugins, by package (the package name is the plugin's "extension"). */
const EXTENSIONS = {
  '@jupyterlab/application-extension': applicationExtension,
  '@jupyterlab/apputils-extension': apputilsExtension,
  '@jupyterlab/audio-extension': audioExtension,
  '@jupyterlab/cell-toolbar-extension': cellToolbarExtension,
  '@jupyterlab/celltags-extension': celltagsExtension,
  '@jupyterlab/codemirror-extension': codemirrorExtension,
  '@jupyterlab/completer-extension': completerExtension,
  '@jupyterlab/console-extension': consoleExtension,
  '@jupyterlab/csvviewer-extension': csvviewerExtension,
  '@jupyterlab/docmanager-extension': docmanagerExtension,
  '@jupyterlab/documentsearch-extension': documentsearchExtension,
  '@jupyterlab/filebrowser-extension': filebrowserExtension,
  '@jupyterlab/fileeditor-extension': fileeditorExtension,
  '@jupyterlab/help-extension': helpExtension,
  '@jupyterlab/htmlviewer-extension': htmlviewerExtension,
  '@jupyterlab/hub-extension': hubExtension,
  '@jupyterlab/imageviewer-extension': imageviewerExtension,
  '@jupyterlab/inspector-extension': inspectorExtension,
  '@jupyterlab/launcher-extension': launcherExtension,
  '@jupyterlab/logconsole-extension': logconsoleExtension,
  '@jupyterlab/mainmenu-extension': mainmenuExtension,
  '@jupyterlab/markdownviewer-extension': markdownviewerExtension,
  '@jupyterlab/markedparser-extension': markedparserExtension,
  '@jupyterlab/mathjax-extension': mathjaxExtension,
  '@jupyterlab/metadataform-extension': metadataformExtension,
  '@jupyterlab/notebook-extension': notebookExtension,
  '@jupyterlab/rendermime-extension': rendermimeExtension,
  '@jupyterlab/running-extension': runningExtension,
  '@jupyterlab/services-extension': servicesExtension,
  '@jupyterlab/settingeditor-extension': settingeditorExtension,
  '@jupyterlab/shortcuts-extension': shortcutsExtension,
  '@jupyterlab/statusbar-extension': statusbarExtension,
  '@jupyterlab/terminal-extension': terminalExtension,
  '@jupyterlab/theme-dark-extension': themeDarkExtension,
  '@jupyterlab/theme-dark-high-contrast-extension': themeDarkHighContrastExtension,
  '@jupyterlab/theme-light-extension': themeLightExtension,
  '@jupyterlab/toc-extension': tocExtension,
  '@jupyterlab/tooltip-extension': tooltipExtension,
  '@jupyterlab/translation-extension': translationExtension,
  '@jupyterlab/ui-components-extension': uiComponentsExtension,
  '@jupyterlab/video-extension': videoExtension,
  '@jupyterlab/workspaces-extension': workspacesExtension
};

/** Renderers for output MIME types. */
const MIME_EXTENSIONS = {
  '@jupyterlab/javascript-extension': javascriptExtension,
  '@jupyterlab/json-extension': jsonExtension,
  '@jupyterlab/pdf-extension': pdfExtension,
  '@jupyterlab/vega5-extension': vega5Extension
};

/**
 * Plugins left out of this build: the language-server ones need a jupyter-lsp server
 * (not provided), the announcements one fetches news from the internet, and the cell
 * executor is replaced by `@eucp/lab-extension:cell-executor` (eucp-extension/executor.js).
 */
const EXCLUDED = new Set([
  '@jupyterlab/notebook-extension:cell-executor',
  '@jupyterlab/notebook-extension:language-server',
  '@jupyterlab/fileeditor-extension:language-server',
  '@jupyterlab/apputils-extension:announcements'
]);

/** The plugins of a module, whether it exports one plugin or a list (ESM or CommonJS). */
function pluginsOf(mod) {
  const exported = mod && 'default' in mod ? mod.default : mod;
  return Array.isArray(exported) ? exported : [exported];
}

async function main() {
  const disabled = [];
  const deferred = [];
  const available = [];

  /** The plugins of one package that should be registered (honours page config). */
  function active(extensionName, plugins) {
    const kept = [];
    for (const plugin of plugins) {
      if (!plugin || EXCLUDED.has(plugin.id)) continue;
      const isDisabled = PageConfig.Extension.isDisabled(plugin.id);
      available.push({
        id: plugin.id,
        description: plugin.description,
        requires: plugin.requires ?? [],
        optional: plugin.optional ?? [],
        provides: plugin.provides ?? null,
        autoStart: plugin.autoStart,
        enabled: !isDisabled,
        extension: extensionName
      });
      if (isDisabled) {
        disabled.push(plugin.id);
        continue;
      }
      if (PageConfig.Extension.isDeferred(plugin.id)) deferred.push(plugin.id);
      kept.push(plugin);
    }
    return kept;
  }

  const register = [];
  for (const [name, mod] of Object.entries(EXTENSIONS)) register.push(...active(name, pluginsOf(mod)));
  register.push(...active('@eucp/lab-extension', pluginsOf(eucpPlugins)));
  const mimeExtensions = [];
  for (const [name, mod] of Object.entries(MIME_EXTENSIONS)) mimeExtensions.push(...active(name, pluginsOf(mod)));

  const pluginRegistry = new JupyterPluginRegistry();
  pluginRegistry.registerPlugins(register);
  const connectionStatus = await pluginRegistry.resolveOptionalService(IConnectionStatus);
  const serviceManager = await pluginRegistry.resolveRequiredService(IServiceManager);

  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager,
    mimeExtensions,
    connectionStatus,
    disabled: { matches: disabled, patterns: [...PageConfig.Extension.disabled] },
    deferred: { matches: deferred, patterns: [...PageConfig.Extension.deferred] },
    availablePlugins: available
  });
  await lab.start({ ignorePlugins: deferred, bubblingKeydown: true });

  if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
    window.jupyterapp = lab;
  }
  await lab.restored;
  document.body.dataset.eucpLabRestored = 'true';
}

void main().catch((err) => {
  console.error('JupyterLab failed to start', err);
  document.body.dataset.eucpLabFailed = 'true';
});
