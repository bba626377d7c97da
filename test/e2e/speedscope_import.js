// Reads a file with speedscope's own import code, as speedscope does when
// a file is dropped on it, and prints what it made of it as JSON:
//   node speedscope_import.js SPEEDSCOPE_DIR FILE
// SPEEDSCOPE_DIR is the npm package's dist/release. The package is the
// browser app, one bundle: its import function is found by the message it
// logs ("Importing as speedscope json file"), its module initialised by
// the lazy initialiser the bundler declares after it, and both reached by
// a line put at the top of the bundle, before the app (which needs a
// browser) stops on its first use of the page.
'use strict';
const fs = require('fs');
const vm = require('vm');

const [dir, file] = process.argv.slice(2);
const bundleName = fs.readdirSync(dir).find(f => /^speedscope-.*\.js$/.test(f));
if (!bundleName) throw new Error(`no speedscope bundle in ${dir}`);
let bundle = fs.readFileSync(`${dir}/${bundleName}`, 'utf8');
const importer = /"Importing as speedscope json file"\),(\w+)\(\w+\)/.exec(bundle);
if (!importer) throw new Error('speedscope\'s JSON importer not found in its bundle');
const lazy = /var (\w+)=\w+\(\(\)=>\{"use strict";/g;
lazy.lastIndex = bundle.indexOf(`function ${importer[1]}(`);
const init = lazy.exec(bundle);
const head = '"use strict";(()=>{';
if (!init || !bundle.startsWith(head)) throw new Error('speedscope\'s bundle is not laid out as expected');
bundle = `${head}globalThis.importSpeedscope=(p)=>(${init[1]}(),${importer[1]}(p));` +
    bundle.slice(head.length);

const context = {console: {log() {}, warn() {}, error() {}}, navigator: {userAgent: 'node'},
                 window: {}, self: {}};
context.globalThis = context;
vm.createContext(context);
try {
    vm.runInContext(bundle, context);
} catch (error) {
    // The app itself needs a page; the import code is all there is to run.
}
const group = context.importSpeedscope(JSON.parse(fs.readFileSync(file, 'utf8')));
const profiles = group.profiles.map(profile => {
    const frames = {};
    profile.forEachFrame(frame => {
        frames[frame.name] = {self: frame.getSelfWeight(), total: frame.getTotalWeight()};
    });
    // The functions in the order they first ran, as the Time Order view
    // draws them, and when each first began and last ended.
    const order = [], spans = {};
    profile.forEachCall((node, at) => {
        const name = node.frame.name;
        if (!order.includes(name)) order.push(name);
        if (!spans[name]) spans[name] = [at, at];
    }, (node, at) => {
        spans[node.frame.name][1] = at;
    });
    return {name: profile.getName(), unit: profile.getWeightUnit(),
            total: profile.getTotalWeight(), frames, order, spans};
});
process.stdout.write(JSON.stringify({name: group.name, profiles}) + '\n');
