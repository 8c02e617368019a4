# The README's two commands: `make demo` runs a live instance on the local
# engine, `make test` runs every test. Both set up what they need (as root
# on Debian: docker.io, dockerd, redis-server, debootstrap, local images).

.PHONY: demo test build images demo-down

demo:
	scripts/demo.sh

test:
	scripts/test.sh

# Static: an instance's edge container runs this very binary.
build:
	CGO_ENABLED=0 go build -o bin/wbd ./cmd/wbd

images:
	scripts/ensure-engine.sh
	scripts/build-images.sh

demo-down:
	scripts/demo.sh down
