// Loads the server half of the real Apps-Engine: 1.62.0 (the last release that ships it), or with
// RELAY_BRIDGE_ENGINE=oldest 1.53.1's own server/, since an engine's server and its runtime go together.
'use strict';

const path = require('path');
const { engineDir } = require('./paths');

function engineRequire(modulePath) {
    return require(path.join(engineDir, modulePath));
}

module.exports = { engineRequire, engineDir };
