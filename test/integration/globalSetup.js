// Packages the app once per test run: every integration test installs this same zip.
const { packageApp } = require('../../tools/package');

module.exports = async () => {
    process.env.RELAY_BRIDGE_ZIP = packageApp({ quiet: true });
};
