// next.config.mjs — the dashboard is exported as static files into out/,
// which the edge serves (NMC_DASHBOARD_DIR); there is no Node server at run time.
/** @type {import('next').NextConfig} */
const config = {
  output: 'export',
  reactStrictMode: true,
  images: { unoptimized: true },
  poweredByHeader: false,
};
export default config;
