# Debian 12 / Ubuntu packages, sourced by contrib/quickstart and
# contrib/check-all (one list, so the two commands cannot drift apart).
BUILD_PACKAGES="build-essential autoconf automake pkg-config
 libmilter-dev libssl-dev libspf2-dev libopendmarc-dev libjansson-dev
 libunbound-dev"
TEST_PACKAGES="unbound postfix sasl2-bin libsasl2-modules libsasl2-modules-db
 python3 python3-dkim python3-dnslib python3-jsonschema python3-yaml
 python3-spf python3-authres libmail-dkim-perl opendkim opendkim-tools
 clang libclang-rt-dev groff-base procps iproute2 perl m4 libwrap0"

# apt-get as root, or through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# Postfix is a test tool here: never configure or start a system MTA.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    as_root debconf-set-selections
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "$@"
}
