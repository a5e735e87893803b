# Runs assetmill before Jekyll reads the site, so every image the pages
# name is in img/ (and _data/assets.yml is current) when the pages render.
#
# - `jekyll build` / `jekyll serve`: `assetmill build` (incremental: a warm
#   build makes nothing). With `assetmill: {check: true}` in _config.yml or
#   ASSETMILL_CHECK=1, `assetmill build --check` instead: a CI job that
#   restored or merged the outputs fails if any is stale.
# - When assetmill fails (a page names a missing file, an image is broken),
#   the Jekyll build fails with assetmill's diagnostics (`page:line: error:
#   ...`).
# - Under `jekyll serve`, only the first build runs it: run `assetmill
#   watch` beside it, and Jekyll regenerates as the outputs land in img/.
#
# ASSETMILL names the binary (default: `assetmill` on PATH).
require "open3"

module AssetmillPlugin
  def self.run(site)
    config = site.config["assetmill"] || {}
    check = config["check"] || ENV["ASSETMILL_CHECK"] == "1"
    binary = ENV["ASSETMILL"] || "assetmill"
    args = ["build", "--quiet"]
    args << "--check" if check
    Jekyll.logger.info "assetmill:", "#{binary} #{args.join(" ")}"
    output, status = Dir.chdir(site.source) do
      Open3.capture2e(binary, *args)
    end
    output.each_line { |line| Jekyll.logger.info "assetmill:", line.chomp }
    return if status.success?
    raise Jekyll::Errors::FatalException,
          "assetmill #{args.first} failed (exit #{status.exitstatus}):\n#{output}"
  rescue Errno::ENOENT
    raise Jekyll::Errors::FatalException,
          "assetmill: `#{binary}` not found; install it (cargo install assetmill) " \
          "or set ASSETMILL to its path"
  end
end

Jekyll::Hooks.register :site, :after_init do |site|
  # `jekyll serve` calls after_init again only when _config.yml changes;
  # rebuilding then is what a changed config needs anyway.
  AssetmillPlugin.run(site)
end
