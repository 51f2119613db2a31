// Loads the server half of the real Apps-Engine (1.62.0, the last release that ships it).
'use strict';

const path = require('path');
const { engineDir } = require('./paths');

function engineRequire(modulePath) {
    return require(path.join(engineDir, modulePath));
}

module.exports = { engineRequire, engineDir };
